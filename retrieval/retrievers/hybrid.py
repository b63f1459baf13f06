"""Hybrid search: independent retrievers (BM25, vectors), each filtered, then fused into one ranking.

    search(text, k, filters):
        keep     = PassageFilter(normalize_filters(filters))        # metadata filters, validity
        rankings = {r.name: r.search(text, CANDIDATES, keep, extra) for r in retrievers}
        fused    = fuse(method, rankings, weights)                  # weighted | rrf | one retriever
        hits     = top k of fused, each with every retriever's own score

The text is what the assistant's query understanding made of the question (aliases replaced by canonical
terms), `extra` the related words it added (BM25 weighs them at EXTRA_WEIGHT, the dense side leaves them
out; `Query.search_words` decides which is which);
retrievers never see each other (haystack's retrievers feeding a joiner).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from retrieval.errors import InvalidQuery
from retrieval.retrievers.filters import PassageFilter, normalize_filters
from retrieval.retrievers.fusion import Ranking, fuse
from retrieval.passage import Hit, Passage

CANDIDATES = 50  # passages each retriever contributes to fusion
FUSIONS = ("weighted", "rrf", "bm25", "dense")


class Retriever(Protocol):
    """One way of finding passages for a text: `retrieval.retrievers.bm25.BM25Retriever`, `retrieval.retrievers.vector.VectorRetriever`."""

    name: str

    def search(self, query: str, k: int, keep: PassageFilter, extra: str = "") -> Ranking:
        """`extra`: words the query understanding added (synonyms, related terms); weighed below `query`'s own."""
        ...


@dataclass
class SearchResult:
    hits: list[Hit]
    rankings: dict[str, Ranking]  # each retriever's own ranking, before fusion


class HybridSearcher:
    def __init__(self, passages: list[Passage], retrievers: list[Retriever], fusion: str = "weighted",
                 bm25_weight: float = 0.6):
        self.passages = {p.id: p for p in passages}
        self.retrievers = {r.name: r for r in retrievers}
        self.fusion = fusion
        self.bm25_weight = bm25_weight

    @property
    def dense(self) -> Retriever:
        return self.retrievers["dense"]

    def weights_for(self, latin: bool) -> dict[str, float]:
        """Mostly-latin questions carry few BM25 tokens over a Chinese corpus: lean on the dense side."""
        w = self.bm25_weight * 0.5 if latin else self.bm25_weight
        return {"bm25": w, "dense": 1.0 - w}


    def search(self, text: str, k: int = 5, filters: dict[str, Any] | None = None, *, latin: bool = False,
               fusion: str | None = None, extra: str = "") -> SearchResult:
        if not text or not text.strip():
            raise InvalidQuery("the query is empty", field="query")
        keep = PassageFilter(normalize_filters(filters), self.passages)
        method = fusion or self.fusion
        used = [r for name, r in self.retrievers.items() if method in (name, "weighted", "rrf")]
        n = min(CANDIDATES, len(self.passages))
        rankings = {r.name: r.search(text, n if r.name == "dense" else CANDIDATES, keep, extra) for r in used}
        fused = fuse(method, rankings, self.weights_for(latin))
        lookup = {name: dict(r) for name, r in rankings.items()}
        hits = [Hit(self.passages[pid], float(score), {name: scores.get(pid, 0.0) for name, scores in lookup.items()})
                for pid, score in fused[:k]]
        return SearchResult(hits, rankings)
