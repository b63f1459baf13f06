"""Sentences: how a passage is split into the units the evidence stage weighs and the answerer quotes.
(The enumeration penalty of the rule stages was dropped: switched off in cross-validation it changed
nothing, `python -m evals train --ablation`.)"""
from __future__ import annotations

import re

from retrieval.text import split_sentences

LEAD_CHARS = 20
_NUMBERED_TITLE = re.compile(r"^\s*\d{1,2}[.、．]\s*[^\d]*$")  # "2. 加强高新技术企业培育。" (a title, no figures)


def sentences(text: str) -> list[str]:
    """The passage's sentences; a short lead such as `2. 加强高新技术企业培育。` stays with the sentence after it."""
    parts = split_sentences(text)
    merged: list[str] = []
    carry = ""
    for i, s in enumerate(parts):
        is_lead = len(s) < LEAD_CHARS and (not re.search(r"\d", s) or _NUMBERED_TITLE.match(s))
        if is_lead and i < len(parts) - 1:
            carry += s  # a lead title: keep it as context of the sentence after it
            continue
        merged.append(carry + s)
        carry = ""
    if carry:
        merged.append(carry)
    return merged or [text]
