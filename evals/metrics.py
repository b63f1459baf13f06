"""Metrics, computed the same way for every answer mode.

- hit@k: an evidence string (NFKC, whitespace removed) occurs in a passage at rank <= k of what the
  user is shown: the answer's citations in order, then its related passages. Answerable items only.
- mrr: 1 / rank of the first such passage (0 if none is shown).
- citation_precision: share of cited passages that hold some evidence (answerable items).
- fact_recall: share of answer_facts found in the answer text (answerable items; a refusal scores 0).
- refusal_acc: share of unanswerable items refused; false_refusal: share of answerable items refused.
"""
from __future__ import annotations

import statistics
from typing import Any

from retrieval.text import normalize


def _has_evidence(text: str, evidence: list[str]) -> bool:
    t = normalize(text)
    return any(normalize(e) in t for e in evidence)


def score_item(item, answer: dict[str, Any]) -> dict[str, Any]:
    shown = [c["text"] for c in answer["citations"]] + [c["text"] for c in answer.get("related", [])]
    m: dict[str, Any] = {"refused": not answer["answerable"]}
    if not item.answerable:
        m["refusal_ok"] = not answer["answerable"]
        return m
    rank = next((i for i, t in enumerate(shown, 1) if _has_evidence(t, item.evidence)), None)
    m["rank"] = rank
    m["hit@1"] = float(rank == 1)
    m["hit@5"] = float(rank is not None and rank <= 5)
    m["mrr"] = 1.0 / rank if rank else 0.0
    cited = [c["text"] for c in answer["citations"]]
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
