"""The question's terms and what a text holds of them: the measures the evidence stage's features are made of.

- analyse: the question's weighted terms (IDF from `language.stats`), the kind of value it asks for
  (`language.values`), its years and numbers, names the library never mentions.
- present_terms / share / coverage / specific_terms: which of those terms a text holds, and their weight.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from assistant.language.stats import TermStats
from assistant.language.values import asked_types
from retrieval.text import cjk_ratio, normalize
from retrieval.tokenize import proper_nouns, tokenize, word_freq

_ORG = re.compile(r"[\u4e00-\u9fffA-Za-z]{2,8}?(?:有限公司|公司|集团|重工|重科|股份|控股|银行|证券)")
YEAR = re.compile(r"(?<!\d)((?:19|20)\d\d)(?!\d)")
_NUMBER = re.compile(r"(?<![\d.])\d+(?:\.\d+)?(?![\d.])")


@dataclass
class QueryTerms:
    weights: dict[str, float]  # token -> IDF weight (question terms plus glossary additions)
    unknown_names: list[str]  # place/person/organisation names the corpus never mentions
    asked_types: list[str]
    years: list[str]
    numbers: list[str]
    latin: bool


def analyse(question: str, search_text: str, stats: TermStats, names_text: str | None = None) -> QueryTerms:
    """search_text: the (standalone) question with vocabulary aliases replaced by canonical terms.
    names_text: where to look for names the library never mentions (default search_text): the standalone
    question as typed, with the spans the vocabulary knows blanked out (a colloquial word is no name)."""
    latin = cjk_ratio(question) < 0.5
    tokens = tokenize(search_text)
    if latin:  # English words never occur in the Chinese text: judge by the glossary's Chinese terms
        tokens = [t for t in tokens if not re.fullmatch(r"[a-z][a-z\-']*", t)]
    weights: dict[str, float] = {}
    for t in tokens:
        if len(t) == 1 and not t.isdigit():  # single characters carry little meaning
            continue
        if stats.idf(t) >= stats.max_idf and not word_freq(t) and not t.isascii():
            continue  # a fragment of spoken Chinese (提了, 要建) in no dictionary and not in the library
        weights[t] = stats.idf(t)
    asked = asked_types(question)
    years = YEAR.findall(search_text)
    plain = re.sub(r"(?<=\d),(?=\d{3})", "", normalize(search_text))
    numbers = [] if latin else [n for n in _NUMBER.findall(plain) if n not in years]
    names_text = search_text if names_text is None else names_text
    names = proper_nouns(names_text) + _ORG.findall(names_text)  # places, people, companies
    unknown = [w for w in dict.fromkeys(names) if stats.idf(w) >= stats.max_idf - 1e-9]
    return QueryTerms(weights, unknown, asked, years, numbers, latin)


def specific_terms(terms: QueryTerms, stats: TermStats, max_df_share: float = 0.2) -> set[str]:
    """The question's terms that are not everywhere in the corpus (长沙, 规划, 科技 are): what it is about."""
    limit = max_df_share * stats.n
    return {t for t in terms.weights if stats.df.get(t, 0) <= limit and not t.replace(".", "").isdigit()}


@lru_cache(maxsize=50_000)
def _text_index(text: str) -> tuple[frozenset[str], str]:
    """(tokens, normalised lower-case text): passages, sentences and headings recur across questions."""
    return frozenset(tokenize(text)), normalize(text).lower()


def present_terms(terms: QueryTerms, text: str) -> set[str]:
    """The query terms that occur in text (as tokens, or as substrings for words jieba cuts otherwise)."""
    toks, low = _text_index(text)
    return {t for t in terms.weights if t in toks or (len(t) >= 2 and t in low)}


def share(terms: QueryTerms, present: set[str], skip: frozenset[str] | set[str] = frozenset()) -> float:
    """IDF-weighted share of the query terms in `present` (terms in `skip` left out)."""
    weights = {t: w for t, w in terms.weights.items() if t not in skip}
    total = sum(weights.values())
    return sum(w for t, w in weights.items() if t in present) / total if total else 0.0


def coverage(terms: QueryTerms, text: str, skip: frozenset[str] | set[str] = frozenset()) -> float:
    """IDF-weighted share of the query terms present in text (terms in `skip` left out)."""
    return share(terms, present_terms(terms, text), skip)
