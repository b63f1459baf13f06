"""The reranking stage, between fusion and the relevance gate: reorders the fused hits for the question.

`KeepOrder` keeps the fused order (the default until a reranker is measured to do better).
"""
from __future__ import annotations

from typing import Protocol

from assistant.query import Query
from retrieval.passage import Hit


class Reranker(Protocol):
    def rerank(self, query: Query, hits: list[Hit]) -> list[Hit]: ...


class KeepOrder:
    def rerank(self, query: Query, hits: list[Hit]) -> list[Hit]:
        return hits
