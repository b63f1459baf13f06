"""What a request may ask for: the one place for the ranges and checks (Settings, API schemas and
`Assistant` all use these, so the limits are written once)."""
from __future__ import annotations

from typing import Any

from assistant.errors import InvalidQuery

TOP_K_MIN, TOP_K_MAX = 1, 50  # passages per answer / search; measures per support-finder result
HISTORY_ROLES = ("user", "assistant", "system")
MESSAGE_CHARS_MAX = 20000  # the ceiling of PA_MAX_MESSAGE_CHARS (and of a message in the API schema)


def encoding_problem(value: str) -> str | None:
    """Why `value` cannot be text (a lone UTF-16 surrogate such as \\ud800 is not encodable as UTF-8), or None."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        bad = value[exc.start]
        return (f"contains a lone surrogate U+{ord(bad):04X} at position {exc.start}, which is not text "
                "(not encodable as UTF-8); send the character itself or a valid surrogate pair")
    return None


def check_encodable(field: str, value: str) -> str:
    problem = encoding_problem(value)
    if problem:
        raise InvalidQuery(f"{field} {problem}", field=field)
    return value


def check_text(field: str, value: Any, max_chars: int) -> str:
    """A question or query: a non-empty string of at most max_chars characters (PA_MAX_QUESTION_CHARS)."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidQuery(f"{field} is empty or only whitespace; a non-empty text is required", field=field)
    if len(value) > max_chars:
        raise InvalidQuery(f"{field} has {len(value)} characters; at most {max_chars} are allowed "
                           "(PA_MAX_QUESTION_CHARS)", field=field)
    return check_encodable(field, value).strip()


def check_k(field: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not TOP_K_MIN <= value <= TOP_K_MAX:
        raise InvalidQuery(f"{field}={value!r} is out of range; allowed: an integer in {TOP_K_MIN}..{TOP_K_MAX}",
                           field=field)
    return value


def check_message(field: str, text: str, max_chars: int | None) -> str:
    """One earlier chat message's text: at most max_chars characters (PA_MAX_MESSAGE_CHARS), encodable."""
    if max_chars is not None and len(text) > max_chars:
        raise InvalidQuery(f"{field}: a message has {len(text)} characters; at most {max_chars} are allowed "
                           "(PA_MAX_MESSAGE_CHARS)", field=field)
    return check_encodable(field, text)


def check_history(history: Any, max_messages: int, max_chars: int | None = None) -> list[dict]:
    """Earlier chat messages, the most recent `max_messages` of them (older ones do not help a follow-up)."""
    if not history:
        return []
    if not isinstance(history, list) or not all(
            isinstance(m, dict) and isinstance(m.get("content"), str) and m.get("role") in HISTORY_ROLES
            for m in history):
        raise InvalidQuery("history must be a list of {role: user|assistant|system, content: str} messages",
                           field="history")
    kept = history[-max_messages:] if max_messages else []
    for m in kept:
        check_message("history", m["content"], max_chars)
    return kept


def check_filters(filters: Any) -> Any:
    """Filter keys and values must be text (what they may be is checked by retrieval.retrievers.filters)."""
    if isinstance(filters, dict):
        for key, value in filters.items():
            for v in [key, *(value if isinstance(value, list) else [value])]:
                if isinstance(v, str):
                    check_encodable("filters", v)
    return filters
