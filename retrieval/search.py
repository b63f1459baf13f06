"""Hybrid search: glossary expansion -> BM25 and vector retrievers -> fusion -> filters."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np

from retrieval.errors import InvalidQuery
from retrieval.bm25 import BM25Retriever
from retrieval.embedders import Embedder
from retrieval.fusion import Ranking, fuse
from retrieval.glossary import Expansion, Glossary
from retrieval.passage import Hit, Passage
from retrieval.text import cjk_ratio
from retrieval.validity import is_active

FILTER_KEYS = ("doc_id", "kind", "issuer", "region", "status", "doc_number")
RANGE_KEYS = ("issued_from", "issued_to")  # ISO dates, inclusive
FLAG_KEYS = ("include_inactive",)  # repealed / expired documents are left out unless this is true
ALL_FILTER_KEYS = FILTER_KEYS + RANGE_KEYS + FLAG_KEYS
CANDIDATES = 50


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
                raise InvalidQuery(f"filter {key!r}={value!r} is not a date; expected YYYY-MM-DD", field="filters") from None
            setattr(out, key, iso)
        else:
            values = value if isinstance(value, (list, tuple)) else [value]
            if not values or not all(isinstance(v, str) and v for v in values):
                raise InvalidQuery(f"filter {key!r} needs a non-empty string or list of strings", field="filters")
            out.equal[key] = list(values)
    return out


def _chroma_where(filters: Filters) -> dict[str, Any] | None:
    clauses = [{k: {"$in": v}} for k, v in filters.equal.items()]
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
            raise InvalidQuery("the query is empty", field="query")
        flt = normalize_filters(filters)
        today = date.today()
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
                if pid in self.passages and flt.matches(self.passages[pid], today):
                    ranking.append((pid, float(scores[i])))
            rankings["bm25"] = ranking
        if method != "bm25":
            n = min(CANDIDATES, len(self.passages))
            rankings["dense"] = [
                (pid, s) for pid, s in self.dense.search(text, n, _chroma_where(flt))
                if pid in self.passages and flt.matches(self.passages[pid], today)
            ]
        fused = fuse(method, rankings, self.weights_for(query))
        lookup = {name: dict(r) for name, r in rankings.items()}
        hits = [
            Hit(self.passages[pid], float(score), {name: scores.get(pid, 0.0) for name, scores in lookup.items()})
            for pid, score in fused[:k]
        ]
        return SearchResult(hits, expansion, rankings)
