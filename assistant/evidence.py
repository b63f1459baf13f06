"""Sentences: how a passage is split into the units the evidence stage weighs and the answerer quotes, and
whether a sentence is an enumeration of many topics (a mention in passing, not the subject)."""
from __future__ import annotations

import re

from retrieval.text import split_sentences

ENUM_ITEMS = 6  # a sentence listing this many items (、，) is an enumeration of topics
_ENUM_SEP = re.compile(r"[、，,]")
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


def enumerated(sentence: str, found: set[str]) -> bool:
    """The sentence mentions `found` only inside an enumeration of many topics (≥ ENUM_ITEMS items)."""
    return bool(found) and len(_ENUM_SEP.findall(sentence)) >= ENUM_ITEMS
