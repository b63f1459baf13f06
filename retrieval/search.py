"""Hybrid search: glossary expansion -> BM25 and vector retrievers -> fusion -> filters."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from assistant.errors import InvalidQuery
from retrieval.bm25 import BM25Retriever
from retrieval.embedders import Embedder
from retrieval.fusion import Ranking, fuse
from retrieval.glossary import Expansion, Glossary
from retrieval.passage import Hit, Passage
from retrieval.text import cjk_ratio

FILTER_KEYS = ("doc_id", "kind", "issuer", "region", "status", "doc_number")
CANDIDATES = 50


def normalize_filters(filters: dict[str, Any] | None) -> dict[str, list[str]]:
    if not filters:
        return {}
    out: dict[str, list[str]] = {}
    for key, value in filters.items():
        if key not in FILTER_KEYS:
            raise InvalidQuery(f"unknown filter {key!r}; allowed: {', '.join(FILTER_KEYS)}", "filters")
        values = value if isinstance(value, (list, tuple)) else [value]
        if not values or not all(isinstance(v, str) and v for v in values):
            raise InvalidQuery(f"filter {key!r} needs a non-empty string or list of strings", "filters")
        out[key] = list(values)
    return out


def _matches(p: Passage, filters: dict[str, list[str]]) -> bool:
    for key, allowed in filters.items():
        value = getattr(p, key, None) if key in {"doc_id", "kind"} else p.meta.get(key)
        if value not in allowed:
            return False
    return True


def _chroma_where(filters: dict[str, list[str]]) -> dict[str, Any] | None:
    clauses = [{k: {"$in": v}} for k, v in filters.items()]
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}


class VectorRetriever:
    """Nearest passages in the Chroma collection for the embedded query."""

    name = "dense"

    def __init__(self, collection, embedder: Embedder):
        self.collection = collection
        self.embedder = embedder

    def search(self, query: str, k: int, where: dict[str, Any] | None = None) -> Ranking:
        vec = self.embedder.embed_query(query)
        res = self.collection.query(
            query_embeddings=[vec.tolist()], n_results=k, where=where, include=["distances"]
        )
        return [(pid, 1.0 - float(d)) for pid, d in zip(res["ids"][0], res["distances"][0])]


@dataclass
class SearchResult:
    hits: list[Hit]
    expansion: Expansion
    rankings: dict[str, Ranking]


class HybridSearcher:
    def __init__(
        self,
        passages: list[Passage],
        bm25: BM25Retriever,
        dense: VectorRetriever,
        glossary: Glossary,
        fusion: str = "weighted",
        bm25_weight: float = 0.6,
    ):
        self.passages = {p.id: p for p in passages}
        self.bm25 = bm25
        self.dense = dense
        self.glossary = glossary
        self.fusion = fusion
        self.bm25_weight = bm25_weight

    def weights_for(self, query: str) -> dict[str, float]:
        """Mostly-latin questions carry few BM25 tokens over a Chinese corpus: lean on the dense side."""
        w = self.bm25_weight if cjk_ratio(query) >= 0.5 else self.bm25_weight * 0.5
        return {"bm25": w, "dense": 1.0 - w}

    def search(self, query: str, k: int = 5, filters: dict[str, Any] | None = None,
               fusion: str | None = None) -> SearchResult:
        if not query or not query.strip():
            raise InvalidQuery("the query is empty", "query")
        flt = normalize_filters(filters)
        method = fusion or self.fusion
        expansion = self.glossary.expand(query.strip())
        text = expansion.text
        rankings: dict[str, Ranking] = {}
        if method != "dense":
            scores = self.bm25.scores(text)
            order = np.argsort(-scores)
            ranking = []
            for i in order:
                if scores[i] <= 0 or len(ranking) >= CANDIDATES:
                    break
                pid = self.bm25.ids[i]
                if pid in self.passages and (not flt or _matches(self.passages[pid], flt)):
                    ranking.append((pid, float(scores[i])))
            rankings["bm25"] = ranking
        if method != "bm25":
            n = min(CANDIDATES, len(self.passages))
            rankings["dense"] = [
                (pid, s) for pid, s in self.dense.search(text, n, _chroma_where(flt)) if pid in self.passages
            ]
        fused = fuse(method, rankings, self.weights_for(query))
        lookup = {name: dict(r) for name, r in rankings.items()}
        hits = [
            Hit(self.passages[pid], float(score), {name: scores.get(pid, 0.0) for name, scores in lookup.items()})
            for pid, score in fused[:k]
        ]
        return SearchResult(hits, expansion, rankings)
