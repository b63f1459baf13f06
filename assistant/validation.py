"""What a request may ask for: the one place for the ranges and checks (Settings, API schemas and
`Assistant` all use these, so the limits are written once)."""
from __future__ import annotations

from typing import Any

from assistant.errors import InvalidQuery

TOP_K_MIN, TOP_K_MAX = 1, 50  # passages per answer / search; measures per support-finder result
HISTORY_ROLES = ("user", "assistant", "system")


def check_text(field: str, value: Any, max_chars: int) -> str:
    """A question or query: a non-empty string of at most max_chars characters (PA_MAX_QUESTION_CHARS)."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidQuery(f"{field} is empty or only whitespace; a non-empty text is required", field=field)
    if len(value) > max_chars:
        raise InvalidQuery(f"{field} has {len(value)} characters; at most {max_chars} are allowed "
                           "(PA_MAX_QUESTION_CHARS)", field=field)
    return value.strip()


def check_k(field: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not TOP_K_MIN <= value <= TOP_K_MAX:
        raise InvalidQuery(f"{field}={value!r} is out of range; allowed: an integer in {TOP_K_MIN}..{TOP_K_MAX}",
                           field=field)
    return value


def check_history(history: Any, max_messages: int) -> list[dict]:
    """Earlier chat messages, the most recent `max_messages` of them (older ones do not help a follow-up)."""
    if not history:
        return []
    if not isinstance(history, list) or not all(
            isinstance(m, dict) and isinstance(m.get("content"), str) and m.get("role") in HISTORY_ROLES
            for m in history):
        raise InvalidQuery("history must be a list of {role: user|assistant|system, content: str} messages",
                           field="history")
    return history[-max_messages:] if max_messages else []
