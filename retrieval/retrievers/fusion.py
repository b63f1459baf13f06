"""Fusion of ranked lists from independent retrievers. Retrievers never see each other."""
from __future__ import annotations

Ranking = list[tuple[str, float]]  # (passage id, retriever score), best first


def rrf(rankings: dict[str, Ranking], weights: dict[str, float] | None = None, k: int = 60) -> Ranking:
    """Reciprocal rank fusion: sum of w / (k + rank)."""
    fused: dict[str, float] = {}
    for name, ranking in rankings.items():
        w = 1.0 if weights is None else weights.get(name, 0.0)
        for rank, (pid, _score) in enumerate(ranking, start=1):
            fused[pid] = fused.get(pid, 0.0) + w / (k + rank)
    return sorted(fused.items(), key=lambda kv: -kv[1])


def _minmax(ranking: Ranking) -> dict[str, float]:
    if not ranking:
        return {}
    scores = [s for _, s in ranking]
    hi, lo = max(scores), min(scores)
    if hi - lo < 1e-9:
        return {pid: 1.0 for pid, _ in ranking}
    return {pid: (s - lo) / (hi - lo) for pid, s in ranking}


def _max_norm(ranking: Ranking) -> dict[str, float]:
    if not ranking:
        return {}
    hi = max(s for _, s in ranking)
    return {pid: (s / hi if hi > 0 else 0.0) for pid, s in ranking}


def weighted(rankings: dict[str, Ranking], weights: dict[str, float]) -> Ranking:
    """Weighted sum of normalised scores: BM25 by its maximum, dense by min-max over its candidates."""
    fused: dict[str, float] = {}
    for name, ranking in rankings.items():
        norm = _max_norm(ranking) if name == "bm25" else _minmax(ranking)
        w = weights.get(name, 0.0)
        for pid, s in norm.items():
            fused[pid] = fused.get(pid, 0.0) + w * s
    return sorted(fused.items(), key=lambda kv: -kv[1])


def fuse(method: str, rankings: dict[str, Ranking], weights: dict[str, float]) -> Ranking:
    if method == "rrf":
        return rrf(rankings, weights)
    if method == "weighted":
        return weighted(rankings, weights)
    if method in rankings:  # a single retriever: "bm25" or "dense"
        return list(rankings[method])
    raise ValueError(f"unknown fusion {method!r}; allowed: weighted, rrf, bm25, dense")
