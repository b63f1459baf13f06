"""Benchmark: build times, warm latency, peak RSS, fusion variants and a naive baseline, in one run.

Retrieval quality here is measured on search results (no answering): an item is a hit@k when one
of its evidence strings occurs in a passage ranked <= k. The naive baseline is fixed 500-character
chunks of the raw text, dense-only, with the same embedder.
"""
from __future__ import annotations

import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from assistant.pipeline.followup import standalone
from assistant.settings import Settings
from evals.dataset import Item
from evals.runner import history_for
from retrieval.text import normalize

FUSIONS: list[tuple[str, str, float]] = [
    ("bm25 only", "bm25", 1.0),
    ("dense only", "dense", 0.0),
    ("rrf (k=60, equal)", "rrf", 0.5),
    ("rrf (k=60, bm25 0.6)", "rrf", 0.6),
    ("weighted bm25 0.4", "weighted", 0.4),
    ("weighted bm25 0.5", "weighted", 0.5),
    ("weighted bm25 0.6", "weighted", 0.6),
    ("weighted bm25 0.7", "weighted", 0.7),
    ("weighted bm25 0.8", "weighted", 0.8),
    ("weighted bm25 0.9", "weighted", 0.9),
]


def _pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return round(s[min(len(s) - 1, int(round(q * (len(s) - 1))))], 2)


def _rank(texts: list[str], evidence: list[str]) -> int | None:
    ev = [normalize(e) for e in evidence]
    for i, t in enumerate(texts, start=1):
        nt = normalize(t)
        if any(e in nt for e in ev):
            return i
    return None


def _scores(ranks: list[int | None]) -> dict[str, float]:
    n = len(ranks) or 1
    return {
        "hit@1": round(sum(r == 1 for r in ranks) / n, 4),
        "hit@5": round(sum(r is not None and r <= 5 for r in ranks) / n, 4),
        "mrr": round(sum(1 / r for r in ranks if r) / n, 4),
    }


def standalone_queries(assistant, items: list[Item]) -> dict[str, str]:
    """Follow-ups resolved the way `ask` resolves them (answers of earlier turns are not needed for that)."""
    by_id = {i.id: i for i in items}
    return {i.id: standalone(i.question, history_for(i, by_id, {}), assistant.glossary) for i in items}


def _search(assistant, text: str, k: int = 10, fusion: str | None = None):
    """The hybrid search `ask` runs for this standalone question (glossary expansion included)."""
    q = assistant.understand(text, top_k=k)
    text, extra = q.search_words()
    return assistant.searcher.search(text, k, latin=q.latin_search, fusion=fusion, extra=extra).hits


def fusion_table(assistant, items: list[Item]) -> dict[str, dict[str, float]]:
    answerable = [i for i in items if i.answerable]
    queries = standalone_queries(assistant, items)
    searcher = assistant.searcher
    saved = searcher.bm25_weight
    out = {}
    try:
        for label, method, w in FUSIONS:
            searcher.bm25_weight = w
            ranks = [_rank([h.passage.text for h in _search(assistant, queries[i.id], 10, method)], i.evidence)
                     for i in answerable]
            out[label] = _scores(ranks)
    finally:
        searcher.bm25_weight = saved
    return out


def naive_baseline(assistant, items: list[Item], corpus_dir: Path, chunk: int = 500) -> dict[str, float]:
    """Fixed 500-character chunks of the raw documents, dense-only, same embedder."""
    texts = []
    for path in sorted(corpus_dir.glob("*.txt")):
        raw = path.read_text(encoding="utf-8")
        texts += [raw[i:i + chunk] for i in range(0, len(raw), chunk)]
    embedder = assistant.searcher.dense.embedder
    matrix = embedder.embed_passages(texts)
    queries = standalone_queries(assistant, items)
    ranks = []
    for item in (i for i in items if i.answerable):
        q = embedder.embed_query(queries[item.id])
        order = np.argsort(-(matrix @ q))[:10]
        ranks.append(_rank([texts[j] for j in order], item.evidence))
    return {**_scores(ranks), "chunks": len(texts)}


def ours_search(assistant, items: list[Item]) -> dict[str, float]:
    queries = standalone_queries(assistant, items)
    ranks = [_rank([h.passage.text for h in _search(assistant, queries[i.id])], i.evidence)
             for i in items if i.answerable]
    return _scores(ranks)


def latency(assistant, items: list[Item], repeat: int = 2) -> dict[str, Any]:
    """Search and ask beside the query embedding alone, on the same questions in one run. The query-vector
    cache is emptied before each call, so every search and ask embeds its question as a new one would."""
    by_id = {i.id: i for i in items}
    search_ms, ask_ms, embed_ms = [], [], []
    dense = assistant.searcher.dense
    for _ in range(repeat):
        answers: dict[str, str] = {}
        for item in items:
            history = history_for(item, by_id, answers)
            text = assistant.understand(item.question, history).search_words()[0]
            t0 = time.perf_counter()
            dense.embedder.embed_query(text)
            embed_ms.append((time.perf_counter() - t0) * 1000)
            dense.query_vector.cache_clear()
            t0 = time.perf_counter()
            assistant.search(item.question, 5)
            search_ms.append((time.perf_counter() - t0) * 1000)
            dense.query_vector.cache_clear()
            t0 = time.perf_counter()
            answers[item.id] = assistant.ask(item.question, history=history).answer
            ask_ms.append((time.perf_counter() - t0) * 1000)
    embed50, embed95 = _pct(embed_ms, 0.5), _pct(embed_ms, 0.95)
    return {
        "embed_query_p50_ms": embed50, "embed_query_p95_ms": embed95,
        "search_p50_ms": _pct(search_ms, 0.5), "search_p95_ms": _pct(search_ms, 0.95),
        "ask_p50_ms": _pct(ask_ms, 0.5), "ask_p95_ms": _pct(ask_ms, 0.95),
        "ask_mean_ms": round(statistics.fmean(ask_ms), 2), "requests": len(ask_ms),
        "ask_p50_vs_embed_p50": round(_pct(ask_ms, 0.5) / embed50, 2) if embed50 else None,
        "ask_p95_vs_embed_p95": round(_pct(ask_ms, 0.95) / embed95, 2) if embed95 else None,
    }


def latency_only(settings, items: list[Item], repeat: int = 2) -> dict[str, Any]:
    """`python -m evals bench --latency-only`: the latency table on the configured index, nothing built."""
    from assistant.core import Assistant

    return latency(Assistant.from_settings(settings, build=False), items, repeat)


def run_bench(items: list[Item], corpus_dir: Path) -> dict[str, Any]:
    from assistant.core import Assistant

    tmp = Path(tempfile.mkdtemp(prefix="pa-bench-"))
    try:
        settings = Settings(data_dir=tmp / "data", corpus_dir=corpus_dir, embed_cache_dir=None)  # a cold build is measured
        t0 = time.perf_counter()
        cold = Assistant.build(settings)
        cold_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        warm = Assistant.build(settings)
        unchanged_s = time.perf_counter() - t0
        env = {**os.environ, "PA_DATA_DIR": str(settings.data_dir), "PA_CORPUS_DIR": str(corpus_dir)}
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "assistant", "index"], env=env, check=True, capture_output=True)
        unchanged_cli_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        assistant = Assistant.from_settings(settings, build=False)
        load_s = time.perf_counter() - t0
        from evals.benchmarks.load import serve

        with serve(env) as (_, ready_s):  # the web server with the warm index: spawn -> /readyz 200
            pass
        result = {
            "index": {
                "passages": cold.passages, "documents": cold.documents,
                "build_cold_s": round(cold_s, 2), "build_unchanged_s": round(unchanged_s, 3),
                "build_unchanged_status": warm.status, "index_cli_unchanged_wall_s": round(unchanged_cli_s, 2),
                "load_s": round(load_s, 2), "serve_spawn_to_ready_s": round(ready_s, 2),
            },
            "latency": latency(assistant, items),
            "retrieval": {
                "ours (search, default fusion)": ours_search(assistant, items),
                "naive baseline (500-char chunks, dense only)": naive_baseline(assistant, items, corpus_dir),
            },
            "fusion": fusion_table(assistant, items),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            "cpus": os.cpu_count(),
        }
        return result
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
