"""From a fix to an evaluation item: a curated answer becomes one item of a named set,
PA_DATA_DIR/evals/NAME.jsonl (the question; answer facts = the figures and key phrases of the curated
answer; evidence = quotes of the cited passages), run like any set (`python -m evals run PATH`, the API,
the 评测 tab)."""
from __future__ import annotations

import fcntl
import json
import re
from pathlib import Path
from typing import Any

from assistant.errors import InvalidQuery
from assistant.llm.postcheck import figures, pieces
from assistant.language.terms import specific_terms
from retrieval.passage import Passage

SET_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
KEY_PHRASES = 3
QUOTE_CHARS = 60


def sets_dir(data_dir: Path) -> Path:
    return Path(data_dir) / "evals"


def set_path(data_dir: Path, name: str) -> Path:
    """PA_DATA_DIR/evals/NAME.jsonl; InvalidQuery naming what a set name may be."""
    if not SET_NAME.fullmatch(name or ""):
        raise InvalidQuery(f"set: {name!r} is not a set name; allowed: letters, digits, _ and -, at most 64, "
                           "starting with a letter or digit", field="set")
    return sets_dir(data_dir) / f"{name}.jsonl"


def named_sets(data_dir: Path) -> list[str]:
    """The named sets kept in PA_DATA_DIR/evals."""
    folder = sets_dir(data_dir)
    return sorted(p.stem for p in folder.glob("*.jsonl") if SET_NAME.fullmatch(p.stem)) if folder.is_dir() else []


def facts(answer: str, assistant) -> list[str]:
    """The figures of the answer, then its key phrases (the answer's rarest terms in the library)."""
    found = [f.text.strip() for piece in pieces(answer) for f in figures(piece)[0] if f.unit or len(f.number) > 1]
    terms = assistant.understand(answer[:assistant.settings.max_question_chars]).terms
    rare = sorted(specific_terms(terms, assistant.stats), key=lambda t: -terms.weights[t])
    found += [t for t in rare if len(t) >= 2 and t in answer][:KEY_PHRASES]
    return list(dict.fromkeys(f for f in found if f))


def quote(p: Passage) -> str:
    """A verbatim piece of the passage: its first sentence, at most QUOTE_CHARS characters."""
    first = re.split(r"(?<=[。；！？])", p.text.strip(), maxsplit=1)[0]
    return first[:QUOTE_CHARS].strip()


def item_of(curated: dict[str, Any], assistant) -> dict[str, Any]:
    passages = [p for p in (assistant.passage(pid) for pid in curated["passage_ids"]) if p is not None]
    found = facts(curated["answer"], assistant)
    has_figure = any(f.unit or len(f.number) > 1 for piece in pieces(curated["answer"]) for f in figures(piece)[0])
    return {"id": f"curated-{curated['id']}", "question": curated["question"], "category": "figure" if has_figure
            else "fact", "answer_facts": found, "evidence": [quote(p) for p in passages]}


def append_item(data_dir: Path, name: str, item: dict[str, Any]) -> tuple[Path, int]:
    """Append (or replace: one item per curated answer) the item in the named set; (path, items now)."""
    path = set_path(data_dir, name)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+", encoding="utf-8") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)  # several workers may add to one set
        fh.seek(0)
        rows = [json.loads(line) for line in fh.read().splitlines() if line.strip()]
        rows = [r for r in rows if r.get("id") != item["id"]] + [item]
        fh.seek(0)
        fh.truncate()
        fh.write("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    return path, len(rows)
