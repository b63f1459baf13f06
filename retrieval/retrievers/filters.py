"""Metadata filters of a search: which passages a retriever may return.

`normalize_filters(raw)` checks a request's `filters` object (InvalidQuery naming the bad key or value);
`PassageFilter` applies the result: `accept(passage_id)` for any retriever, `where` for Chroma.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from retrieval.errors import InvalidQuery
from retrieval.passage import Passage
from retrieval.validity import is_active

FILTER_KEYS = ("doc_id", "kind", "issuer", "region", "status", "doc_number")
RANGE_KEYS = ("issued_from", "issued_to")  # ISO dates, inclusive
FLAG_KEYS = ("include_inactive",)  # repealed / expired documents are left out unless this is true
ALL_FILTER_KEYS = FILTER_KEYS + RANGE_KEYS + FLAG_KEYS


@dataclass
class Filters:
    equal: dict[str, list[str]] = field(default_factory=dict)
    issued_from: str | None = None
    issued_to: str | None = None
    include_inactive: bool = False

    def matches(self, p: Passage, today: date) -> bool:
        for key, allowed in self.equal.items():
            value = getattr(p, key, None) if key in {"doc_id", "kind"} else p.meta.get(key)
            if value not in allowed:
                return False
        issued = str(p.meta.get("issued", "") or "")[:10]
        if self.issued_from and not (issued and issued >= self.issued_from):
            return False
        if self.issued_to and not (issued and issued <= self.issued_to):
            return False
        return self.include_inactive or is_active(p.meta, today)

    @property
    def where(self) -> dict[str, Any] | None:
        """The equality part as a Chroma `where` clause (the rest is checked on the results)."""
        clauses = [{k: {"$in": v}} for k, v in self.equal.items()]
        if not clauses:
            return None
        return clauses[0] if len(clauses) == 1 else {"$and": clauses}


def normalize_filters(filters: dict[str, Any] | None) -> Filters:
    out = Filters()
    for key, value in (filters or {}).items():
        if key not in ALL_FILTER_KEYS:
            raise InvalidQuery(f"unknown filter {key!r}; allowed: {', '.join(ALL_FILTER_KEYS)}", field="filters")
        if key in FLAG_KEYS:
            if not isinstance(value, bool):
                raise InvalidQuery(f"filter {key!r} must be true or false, not {value!r}", field="filters")
            out.include_inactive = value
        elif key in RANGE_KEYS:
            try:
                iso = date.fromisoformat(str(value)).isoformat()
            except ValueError:
                raise InvalidQuery(f"filter {key!r}={value!r} is not a date; expected YYYY-MM-DD",
                                   field="filters") from None
            setattr(out, key, iso)
        else:
            values = value if isinstance(value, (list, tuple)) else [value]
            if not values or not all(isinstance(v, str) and v for v in values):
                raise InvalidQuery(f"filter {key!r} needs a non-empty string or list of strings", field="filters")
            out.equal[key] = list(values)
    return out


class PassageFilter:
    """The passages of this index that `filters` admit today (unknown ids are never admitted)."""

    def __init__(self, filters: Filters, passages: dict[str, Passage], today: date | None = None):
        self.filters = filters
        self.passages = passages
        self.today = today or date.today()

    @property
    def where(self) -> dict[str, Any] | None:
        return self.filters.where

    def accept(self, passage_id: str) -> bool:
        p = self.passages.get(passage_id)
        return p is not None and self.filters.matches(p, self.today)
