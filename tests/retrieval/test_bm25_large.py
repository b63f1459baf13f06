"""BM25 over a library larger than the candidates asked for: the best are taken from a partial sort, and
filters that reject them still get the next best, in order."""
from __future__ import annotations

import numpy as np

from retrieval.retrievers.bm25 import BM25Retriever


class _Keep:
    def __init__(self, rejected: set[str]):
        self.rejected = rejected

    def accept(self, passage_id: str) -> bool:
        return passage_id not in self.rejected


def _library(n: int) -> BM25Retriever:
    texts = [f"第{i}条 测试市对研发投入给予补助" + "研发投入" * (i % 7) + ("人才引进" if i % 3 else "") for i in range(n)]
    return BM25Retriever.build([f"p{i}" for i in range(n)], texts)


def test_the_top_k_are_the_best_scores_of_the_whole_library_in_order():
    bm25 = _library(1200)
    scores = bm25.scores("研发投入 补助")
    got = bm25.search("研发投入 补助", 10, _Keep(set()))
    assert [s for _, s in got] == sorted((s for _, s in got), reverse=True)
    assert [s for _, s in got] == [float(x) for x in np.sort(scores)[::-1][:10]]


def test_filters_rejecting_the_best_candidates_get_the_next_ones():
    bm25 = _library(1200)
    scores = bm25.scores("研发投入 补助")
    order = np.argsort(-scores, kind="stable")
    rejected = {f"p{i}" for i in order[:300]}  # more than the partial sort looks at first (4 x k)
    got = bm25.search("研发投入 补助", 10, _Keep(rejected))
    assert len(got) == 10 and not rejected & {pid for pid, _ in got}
    assert [s for _, s in got] == [float(scores[i]) for i in order[300:310]]
