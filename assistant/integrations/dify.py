"""Dify's External Knowledge API without the HTTP: which passages a request may see and what it gets back.

    knowledge_filters("all" | doc_id, doc_ids)  -> the search filters, or None for an unknown knowledge_id
    condition_filters(metadata_condition, base) -> those filters narrowed, or None when nothing can match
    records(hits, fusion, score_threshold)      -> [{content, score (0..1), title, metadata (an object)}]

`metadata_condition` operators are applied where they map onto the passage filters of `Assistant.search`:
`is`, `=` and `in` on doc_id, kind, issuer, region, status, doc_number; `is`, `=`, `before`, `after`, `<`,
`>`, `≤`, `≥` on the issued date (ISO `YYYY-MM-DD`, or a Unix timestamp as Dify stores dates). `or` joins
`is`/`in` conditions on one field. Anything else is refused (InvalidQuery naming the condition and what is
supported) rather than ignored: a filter silently dropped would hand Dify passages it asked to exclude.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any

from assistant.errors import InvalidQuery
from assistant.integrations.records import hit_metadata, unit_scores
from retrieval.passage import Hit

ALL = "all"  # knowledge_id of the whole library
EQUAL_FIELDS = ("doc_id", "kind", "issuer", "region", "status", "doc_number")
DATE_FIELD = "issued"
EQUAL_OPS = ("is", "=", "in")
DATE_OPS = ("is", "=", "before", "after", "<", ">", "≤", "≥", "<=", ">=")
SUPPORTED = (f"{', '.join(EQUAL_OPS)} on {', '.join(EQUAL_FIELDS)}; "
             f"{', '.join(DATE_OPS[:8])} on {DATE_FIELD} (YYYY-MM-DD or a Unix timestamp)")
FIELD = "metadata_condition"


@dataclass
class Term:
    """One condition as a filter: equality (`values`: any of them) or an inclusive date range."""

    field: str
    values: list[str] | None = None
    lo: str | None = None
    hi: str | None = None


def knowledge_filters(knowledge_id: str, doc_ids: list[str]) -> dict[str, Any] | None:
    """`all`: the whole library; a doc_id: that document; anything else: None (unknown knowledge)."""
    if knowledge_id == ALL:
        return {}
    return {"doc_id": [knowledge_id]} if knowledge_id in doc_ids else None


def condition_filters(condition: dict[str, Any] | None, base: dict[str, Any]) -> dict[str, Any] | None:
    """`base` narrowed by a Dify `metadata_condition`; None when no passage can satisfy both."""
    terms = [_term(i, c) for i, c in enumerate((condition or {}).get("conditions") or [])]
    operator = str((condition or {}).get("logical_operator") or "and").lower()
    if operator not in ("and", "or"):
        raise InvalidQuery(f"{FIELD}.logical_operator={operator!r}; allowed: and, or", field=FIELD)
    if operator == "or" and len(terms) > 1:
        terms = [_either(terms)]
    filters: dict[str, Any] = {k: list(v) if isinstance(v, list) else v for k, v in base.items()}
    for term in terms:
        if term.values is not None:
            have = filters.get(term.field)
            allowed = term.values if have is None else [v for v in have if v in term.values]
            if not allowed:
                return None
            filters[term.field] = allowed
            continue
        lo = max(filter(None, (filters.get("issued_from"), term.lo)), default=None)
        hi = min(filter(None, (filters.get("issued_to"), term.hi)), default=None)
        if lo and hi and lo > hi:
            return None
        filters.update({k: v for k, v in (("issued_from", lo), ("issued_to", hi)) if v})
    return filters


def records(hits: list[Hit], fusion: str, score_threshold: float) -> list[dict[str, Any]]:
    """Dify records, best first, those scoring below `score_threshold` left out."""
    return [{"content": h.passage.text, "score": round(s, 4), "title": h.passage.doc_title, "metadata": hit_metadata(h)}
            for h, s in zip(hits, unit_scores(fusion, hits), strict=True) if s >= score_threshold]


def _either(terms: list[Term]) -> Term:
    fields = {t.field for t in terms}
    if len(fields) != 1 or any(t.values is None for t in terms):
        raise InvalidQuery(f"{FIELD}: logical_operator 'or' joins is/in conditions on one field only "
                           f"(here: {', '.join(sorted(fields))}); use 'and', or one request per alternative",
                           field=FIELD)
    values = [v for t in terms for v in t.values or []]
    return Term(terms[0].field, list(dict.fromkeys(values)))


def _term(i: int, c: Any) -> Term:
    where = f"{FIELD}.conditions[{i}]"
    if not isinstance(c, dict):
        raise InvalidQuery(f"{where} must be an object {{name, comparison_operator, value}}", field=FIELD)
    name = c.get("name")
    if isinstance(name, list) and len(name) == 1:
        name = name[0]
    op, value = str(c.get("comparison_operator") or "").strip().lower(), c.get("value")
    if name in EQUAL_FIELDS and op in EQUAL_OPS:
        return Term(name, _strings(where, op, value))
    if name == DATE_FIELD and op in DATE_OPS:
        day = _day(where, value)
        d, before, after = (day.isoformat(), (day - timedelta(days=1)).isoformat(),
                            (day + timedelta(days=1)).isoformat())
        lo = {"is": d, "=": d, "≥": d, ">=": d, "after": after, ">": after}.get(op)
        hi = {"is": d, "=": d, "≤": d, "<=": d, "before": before, "<": before}.get(op)
        return Term(name, lo=lo, hi=hi)
    raise InvalidQuery(f"{where}: {op or '(no operator)'!r} on {name!r} cannot be applied to the passages; "
                       f"supported: {SUPPORTED}", field=FIELD)


def _strings(where: str, op: str, value: Any) -> list[str]:
    values = value if isinstance(value, list) else [value]
    if op != "in" and isinstance(value, list) and len(value) != 1:
        raise InvalidQuery(f"{where}: {op!r} takes one value, not {len(value)}; use 'in' for several", field=FIELD)
    out = [str(v).strip() for v in values if not isinstance(v, bool) and isinstance(v, (str, int, float))]
    if not values or len(out) != len(values) or not all(out):
        raise InvalidQuery(f"{where}: value={value!r}; expected a non-empty string (or a list of them for 'in')",
                           field=FIELD)
    return out


def _day(where: str, value: Any) -> date:
    try:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return datetime.fromtimestamp(value, tz=timezone.utc).date()
        return date.fromisoformat(str(value).strip()[:10])
    except (ValueError, OverflowError, OSError):
        raise InvalidQuery(f"{where}: value={value!r} is not a date; expected YYYY-MM-DD or a Unix timestamp",
                           field=FIELD) from None
