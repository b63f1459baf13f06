"""What kind of value a question asks for, and whether a sentence holds one: features, not rules.

Origin: written in issue 14 from general Chinese and English question wording (多少万元, 哪年, 电话, how many …)
and the ways policy texts state values (万元, %, X年, 路X号 …), not from the evaluation sets' questions. They
now only feed the evidence stage's features (`type_asked`, `type_held`, and the question model's
`type_missing`/`typed_about`); the learned weights decide what they are worth, and `python -m evals train`
reports the models with them. No question is refused by a pattern.
"""
from __future__ import annotations

import re
import tomllib
from importlib.resources import files

# type -> (how a question asks for it, what the answering sentence must hold): assistant/data/answer_types.toml
ANSWER_TYPES: dict[str, tuple[re.Pattern[str], re.Pattern[str]]] = {
    name: (re.compile(kind["ask"], re.I), re.compile(kind["holds"]))
    for name, kind in tomllib.loads(files("assistant").joinpath("data", "answer_types.toml")
                                    .read_text(encoding="utf-8")).items()
}


def asked_types(question: str) -> list[str]:
    return [name for name, (ask, _) in ANSWER_TYPES.items() if ask.search(question)]


def holds(name: str, text: str) -> bool:
    """The text holds a value of answer type `name`."""
    return ANSWER_TYPES[name][1].search(text) is not None
