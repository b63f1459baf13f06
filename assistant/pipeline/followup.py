"""Follow-up questions -> standalone queries ("科小呢？" after a 高企 question): by rules, and by the LLM
when one is configured.

The rules (`standalone`) always run first; the LLM is asked only when the question looks like a follow-up and
there is history (`rewrite_query`). Any LLM failure or an implausible rewrite falls back to the rules. A
question the rules do not rewrite searches the previous question's words beside its own, weighed low
(`previous_question`, used by `understand`).
"""
from __future__ import annotations

import logging
import re

from assistant.errors import LLMError
from assistant.llm.client import LLMClient
from assistant.llm.prompt import rewrite_messages
from retrieval.retrievers.glossary import Glossary
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


log = logging.getLogger(__name__)


def _last(history: list[dict], role: str) -> str:
    for turn in reversed(history):
        if turn.get("role") == role and str(turn.get("content", "")).strip():
            return str(turn["content"]).strip()
    return ""


def rewrite_query(question: str, history: list[dict] | None, glossary: Glossary,
                  llm: LLMClient | None = None) -> str:
    ruled = standalone(question, history, glossary)
    if llm is None or not history or not _is_followup(question.strip()):
        return ruled
    previous = standalone(_last(history, "user"), history[:-2] if len(history) >= 2 else [], glossary) \
        if _last(history, "user") else ""
    if not previous:
        return ruled
    try:
        text = llm.complete(rewrite_messages(question, previous, _last(history, "assistant")), max_tokens=120)
    except LLMError as exc:
        log.info("LLM rewrite failed (%s); using the rule-based rewrite", exc.kind)
        return ruled
    line = text.strip().splitlines()[0].strip().strip("“”\"'") if text.strip() else ""
    if not line or len(line) > 300 or len(line) < 2:
        return ruled
    return line


def previous_question(history: list[dict], glossary: Glossary) -> str:
    """The last user question of the history, itself resolved against the turns before it."""
    users = [i for i, t in enumerate(history) if t.get("role") == "user" and str(t.get("content", "")).strip()]
    if not users:
        return ""
    last = users[-1]
    return standalone(str(history[last]["content"]), history[:last], glossary)
