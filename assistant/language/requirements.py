"""What an answer must hold: the question's years and numbers and the kinds of value it asks for
(`provides`); the years a document covers count as stated (`period_years`)."""
from __future__ import annotations

import re

from assistant.language.terms import YEAR, QueryTerms
from assistant.language.values import holds
from retrieval.text import normalize


def period_years(period: object) -> set[str]:
    """Years a document covers ("2021–2025" -> 2021..2025): its targets need not repeat them."""
    found = [int(y) for y in YEAR.findall(str(period or ""))]
    return {str(y) for y in range(min(found), max(found) + 1)} if found else set()


def provides(terms: QueryTerms, sentence: str, implicit_years: set[str] = frozenset()) -> bool:
    """Does the sentence hold every asked-for answer type and every year/number of the question?

    A year inside the document's own period counts as given (a plan's 发展目标 are 2025 targets
    even where the sentence does not repeat the year), unless the sentence names other years.
    """
    low = normalize(sentence)
    stated = set(YEAR.findall(low))
    for x in terms.years:
        if x not in stated and not (x in implicit_years and not stated):
            return False
    if any(not re.search(rf"(?<![\d.]){re.escape(x)}(?![\d])(?!\.\d)", low) for x in terms.numbers):
        return False
    return all(holds(name, sentence) for name in terms.asked_types)
