"""Rule-based rewriting of follow-up questions into standalone queries ("科小呢？" after a 高企 question)."""
from __future__ import annotations

import re

from retrieval.glossary import Glossary
from retrieval.text import cjk_ratio
from retrieval.tokenize import tokenize

_YEAR = re.compile(r"(?:19|20)\d\d(?:年)?")
_LEAD = re.compile(r"^(?:那么|那(?![里儿些个])|还有|另外|再问|(?:and|what about|how about|also)\b)[\s,，]*", re.IGNORECASE)
_PRONOUN = re.compile(
    r"(这个|那个|这些|那些|这项|那项|这家|那家|^该(?!死)|^其(?!他|它|余|实|中|次)|^它|它们|上述|前面|刚才|这里|那里|这方面|\bthis\b|\bthat\b|\bthese\b|\bthose\b|\bit\b|\bits\b|\bthey\b|\bthere\b|\bthe same\b)",
    re.IGNORECASE,
)
_QWORDS = re.compile(r"(是多少|是什么|有哪些|有什么|怎么样|如何|吗|呢|请问|多少|哪些|什么|[？?。!！])")


def _is_followup(q: str) -> bool:
    if q.rstrip("？?").endswith("呢") or _LEAD.match(q) or _PRONOUN.search(q):
        return True
    core = _QWORDS.sub("", q)
    short = len(core) <= 8 if cjk_ratio(q) >= 0.5 else len(core.split()) <= 4
    # a short question with a subject of its own ("长沙市的房价是多少？") stands alone; "科小？" does not
    words = {t for t in tokenize(core, search=False) if not re.fullmatch(r"[\d.]+年?", t)}
    return short and len(words) <= 1


def _substitute(prev: str, q: str, glossary: Glossary) -> str | None:
    """Put the follow-up's slot values (entity of the same type, year) into the previous question."""
    out = prev
    changed = False
    new_terms = {t.type: (t, s, e) for t, s, e in glossary.find(q) if t.type}
    for term, s, e in reversed(glossary.find(prev)):
        if term.type in new_terms and new_terms[term.type][0] != term:
            _t, qs, qe = new_terms[term.type]
            out = out[:s] + q[qs:qe] + out[e:]
            changed = True
    years = _YEAR.findall(q)
    if years and _YEAR.search(out):
        year = years[0] if years[0].endswith("年") else years[0] + "年"
        out = _YEAR.sub(lambda m: year if m.group(0).endswith("年") else year[:-1], out, count=1)
        changed = True
    return out if changed else None


def rewrite(question: str, previous: str | None, glossary: Glossary) -> str:
    """A standalone version of `question` given the previous (standalone) user question."""
    q = question.strip()
    if not previous or not _is_followup(q):
        return q
    substituted = _substitute(previous, q, glossary)
    if substituted is not None:
        return substituted
    # pronoun or ellipsis: carry the previous question's subject along
    return f"{previous} {_LEAD.sub('', q)}".strip()


def standalone(question: str, history: list[dict] | None, glossary: Glossary) -> str:
    """Resolve every user turn of the history in order, then the question itself."""
    previous: str | None = None
    for turn in history or []:
        if turn.get("role") == "user" and str(turn.get("content", "")).strip():
            previous = rewrite(str(turn["content"]), previous, glossary)
    return rewrite(question, previous, glossary)
