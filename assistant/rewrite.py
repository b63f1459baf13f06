"""Follow-up questions -> standalone queries: by the LLM when one is configured, by rules otherwise.

The rules (`followup.standalone`) always run first; the LLM is asked only when the question looks like a
follow-up and there is history. Any LLM failure or an implausible rewrite falls back to the rules.
"""
from __future__ import annotations

import logging

from assistant.followup import _is_followup, standalone
from assistant.errors import LLMError
from assistant.llm import LLMClient
from assistant.prompt import rewrite_messages
from retrieval.glossary import Glossary

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
