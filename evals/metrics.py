"""Metrics, computed the same way for every answer mode.

- hit@k: an evidence string (NFKC, whitespace removed) occurs in one of the answer's first k citations,
  in order: what the answer shows as its sources. A refusal cites nothing and scores 0. Answerable items.
- mrr: 1 / rank of the first such citation (0 if none is cited).
- retrieved@5: an evidence string occurs in one of the top 5 passages retrieved for the question (the
  passages the answerer read, cited or not): retrieval recall, apart from what the answer chose to cite.
- ndcg@10: normalised discounted cumulative gain over the first 10 passages shown (citations, then related
  reading), binary relevance (see `ndcg_at`). Answerable items only.
- citation_precision: share of cited passages that hold some evidence (answerable items).
- fact_recall: share of answer_facts found in the answer text (answerable items; a refusal scores 0).
- refusal_acc: share of unanswerable items refused; false_refusal: share of answerable items refused.
"""
from __future__ import annotations

import math
import statistics
from typing import Any

from retrieval.text import normalize


def _has_evidence(text: str, evidence: list[str]) -> bool:
    t = normalize(text)
    return any(normalize(e) in t for e in evidence)


def ndcg_at(relevant: list[bool], k: int = 10) -> float:
    """nDCG@k with binary relevance, standard definition.

    `relevant[i]` says whether the passage shown at rank i+1 holds some evidence (same test as hit@k).
    DCG@k = sum over relevant ranks r <= k of 1 / log2(r + 1). The ideal DCG puts all R relevant
    passages that were shown (anywhere in the list, not only the top k) at ranks 1..min(R, k).
    So a single relevant passage at rank 1 scores 1.0, at rank 3 scores 0.5, and none shown scores 0.0;
    relevant passages at ranks 1 and 3 score (1 + 0.5) / (1 + 1/log2 3).
    """
    dcg = sum(1.0 / math.log2(r + 1) for r, rel in enumerate(relevant[:k], 1) if rel)
    n_rel = min(sum(relevant), k)
    idcg = sum(1.0 / math.log2(r + 1) for r in range(1, n_rel + 1))
    return dcg / idcg if idcg else 0.0


def score_item(item, answer: dict[str, Any], retrieved: list[str] | None = None) -> dict[str, Any]:
    """Metrics of one answer; `retrieved`: texts of the top passages retrieved for it (for retrieved@5)."""
    cited = [c["text"] for c in answer["citations"]]
    shown = cited + [c["text"] for c in answer.get("related", [])]
    m: dict[str, Any] = {"refused": not answer["answerable"]}
    if not item.answerable:
        m["refusal_ok"] = not answer["answerable"]
        return m
    rank = next((i for i, t in enumerate(cited, 1) if _has_evidence(t, item.evidence)), None)
    m["rank"] = rank
    m["hit@1"] = float(rank == 1)
    m["hit@5"] = float(rank is not None and rank <= 5)
    m["mrr"] = 1.0 / rank if rank else 0.0
    if retrieved is not None:
        m["retrieved@5"] = float(any(_has_evidence(t, item.evidence) for t in retrieved[:5]))
    m["ndcg@10"] = ndcg_at([_has_evidence(t, item.evidence) for t in shown], 10)
    if cited:
        m["citation_precision"] = sum(_has_evidence(t, item.evidence) for t in cited) / len(cited)
    text = normalize(answer["answer"]) if answer["answerable"] else ""
    facts = item.answer_facts
    m["fact_recall"] = (sum(normalize(f) in text for f in facts) / len(facts)) if facts else 1.0
    return m


def _mean(values: list[float]) -> float | None:
    return round(sum(values) / len(values), 4) if values else None


def _pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    s = sorted(values)
    return round(s[min(len(s) - 1, int(round(q * (len(s) - 1))))], 2)


def summarize(rows: list[dict[str, Any]]) -> dict[str, Any]:
    ans = [r for r in rows if r["category"] != "unanswerable"]
    una = [r for r in rows if r["category"] == "unanswerable"]
    lat = [r["latency_ms"] for r in rows]
    cit_len = [len(c["text"]) for r in ans for c in r["citations"]]
    out = {
        "items": len(rows),
        "hit@1": _mean([r["metrics"]["hit@1"] for r in ans]),
        "hit@5": _mean([r["metrics"]["hit@5"] for r in ans]),
        "mrr": _mean([r["metrics"]["mrr"] for r in ans]),
        "retrieved@5": _mean([r["metrics"]["retrieved@5"] for r in ans if "retrieved@5" in r["metrics"]]),
        # rows scored before ndcg@10 existed (older results.jsonl) lack it: average over those that have it
        "ndcg@10": _mean([r["metrics"]["ndcg@10"] for r in ans if "ndcg@10" in r["metrics"]]),
        "citation_precision": _mean([r["metrics"]["citation_precision"] for r in ans if "citation_precision" in r["metrics"]]),
        "fact_recall": _mean([r["metrics"]["fact_recall"] for r in ans]),
        "refusal_acc": _mean([float(r["metrics"]["refusal_ok"]) for r in una]),
        "false_refusal": _mean([float(r["metrics"]["refused"]) for r in ans]),
        "median_citation_chars": statistics.median(cit_len) if cit_len else None,
        "latency_p50_ms": _pct(lat, 0.5),
        "latency_p95_ms": _pct(lat, 0.95),
    }
    return out


def by_category(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    cats = sorted({r["category"] for r in rows})
    return {c: summarize([r for r in rows if r["category"] == c]) for c in cats}
