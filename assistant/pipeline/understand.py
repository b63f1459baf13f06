"""Query understanding: what the assistant makes of a question before it searches.

    understand(question, history):
        standalone = rewrite_query(question, history)   # "科小呢？" -> "2025年科小数量目标是多少？" (rules or LLM)
                                                        # not recognised as a follow-up: the previous question's
                                                        # words are searched beside it, weighed low (extra)
        expansion  = glossary.expand(standalone)        # aliases -> canonical terms (.normalized), + added terms
        terms      = analyse(question, normalized)      # IDF-weighted terms, asked answer types, years, numbers

One name per value, everywhere below: `standalone` (the question with follow-ups resolved),
`normalized` (standalone with aliases replaced), `expanded` (the question and every word the glossary adds);
`search_words()` is what the retrievers get.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from assistant.llm.client import LLMClient
from assistant.language.terms import QueryTerms, analyse
from assistant.language.stats import TermStats
from assistant.pipeline.followup import previous_question, rewrite_query
from retrieval.tokenize import tokenize
from retrieval.retrievers.glossary import Expansion, Glossary
from retrieval.text import cjk_ratio


# an enumeration is asked for: the answer is a list of items (siblings under a heading, or items of one sentence)
LIST_QUESTION = re.compile(r"哪些|哪几|几项|几类|几个方面|几大|有什么|有啥|包括|包含|列举|分别是|主要任务|重点领域|"
                           r"\b(?:which|list|what are|what kinds?|what types?)\b", re.I)


@dataclass
class Query:
    question: str  # as asked (stripped)
    standalone: str  # follow-ups resolved
    expansion: Expansion
    terms: QueryTerms
    k: int = 5
    filters: dict[str, Any] | None = None
    history: list[dict] = field(default_factory=list)

    @property
    def normalized(self) -> str:
        return self.expansion.normalized

    @property
    def expanded(self) -> str:
        return self.expansion.text

    def search_words(self) -> tuple[str, str]:
        """(text, extra) for the retrievers: a Chinese question as normalized, with the related words the
        glossary added searched apart (weighed lower); an English question's Chinese words all come from the
        glossary — they are its translation, searched in full with the question as asked."""
        if self.latin_search:
            return self.expanded, ""
        return self.normalized, self.expansion.extra

    @property
    def latin(self) -> bool:
        """The question is mostly in latin script (English): answers are framed in English."""
        return self.terms.latin

    @property
    def wants_list(self) -> bool:
        return bool(LIST_QUESTION.search(self.question))

    @property
    def latin_search(self) -> bool:
        """The standalone question is mostly latin: the search leans on the dense retriever."""
        return cjk_ratio(self.standalone) < 0.5


def understand(question: str, history: list[dict], glossary: Glossary, stats: TermStats,
               llm: LLMClient | None = None, *, k: int = 5, filters: dict[str, Any] | None = None) -> Query:
    standalone = rewrite_query(question, history, glossary, llm)
    standalone = standalone.strip()
    expansion = glossary.expand(standalone, used=stats.uses)
    known = standalone
    for _term, s, e in glossary.find(standalone):  # what the vocabulary knows is not an unknown name
        known = known[:s] + " " * (e - s) + known[e:]
    terms = analyse(question, expansion.normalized, stats, names_text=known)
    if history and standalone == question.strip():
        previous = previous_question(history, glossary)
        if previous:  # not recognised as a follow-up: the previous question's words searched beside it, weighed low
            expansion.added.extend(w for w in tokenize(previous, search=False)
                                   if len(w) >= 2 and w not in standalone and w not in expansion.added)
    return Query(question, standalone, expansion, terms, k, filters, history)
