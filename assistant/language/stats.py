"""Corpus statistics: document frequencies of tokens over the library's passages, for IDF weights (a term the
library never uses weighs the most). Computed once per index."""
from __future__ import annotations

import math

from retrieval.passage import Passage
from retrieval.text import normalize
from retrieval.tokenize import tokenize


class TermStats:
    """Document frequencies of tokens over all passages (for IDF weights)."""

    def __init__(self, passages: list[Passage]):
        self.n = max(len(passages), 1)
        df: dict[str, int] = {}
        for p in passages:
            for tok in set(tokenize(p.index_text)):
                df[tok] = df.get(tok, 0) + 1
        self.df = df
        self.max_idf = math.log((self.n + 1) / 0.5)
        self.corpus_text = normalize("".join(p.index_text for p in passages)).lower()

    def uses(self, phrase: str) -> bool:
        """The documents contain this phrase (a CJK word of 2+ characters) verbatim."""
        return len(phrase) >= 2 and not phrase.isascii() and normalize(phrase).lower() in self.corpus_text

    def idf(self, tok: str) -> float:
        d = self.df.get(tok, 0)
        if d == 0 and len(tok) >= 2 and tok in self.corpus_text:
            d = 1  # a word jieba splits differently inside the corpus is still known
        return math.log((self.n + 1) / (d + 0.5)) if d else self.max_idf
