"""OCR throughput and the cost of indexing a scanned document, beside the same document with a text layer.

    python -m evals ocr-bench [--pages 20] [--out FILE]

An INVENTED n-page document (evals/scanned.py) is made twice: page images only (a scan) and with a text
layer. Each is indexed alone into a fresh library (bundled embedder, embedded Chroma), cold: nothing cached.
For the scan the OCR pages per second come from the reading progress (the time from the start of the build
to the last page recognised); `reindex_cached_s` is a rebuild of the scan's index once its OCR results are
cached (what every later `index`, `docs add` or server start costs). All figures come from one run.
"""
from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from assistant.settings import Settings


def _index(corpus_file: Path, root: Path, rebuild_after: bool = False) -> dict[str, Any]:
    from assistant.core import Assistant
    from retrieval.readers import reading_progress

    settings = Settings(data_dir=root / "data", corpus_dir=root / "corpus", ocr_timeout_seconds=7200, embed_cache_dir=None,
                        pdf_timeout_seconds=3600)
    settings.corpus_dir.mkdir(parents=True)
    shutil.copy(corpus_file, settings.corpus_dir / corpus_file.name)
    pages: list[float] = []
    t0 = time.perf_counter()
    with reading_progress(lambda _name, done, _total: pages.append(time.perf_counter() - t0)):
        report = Assistant.build(settings)
    out: dict[str, Any] = {"index_s": round(time.perf_counter() - t0, 2), "passages": report.passages,
                           "embedded": report.embedded, "ocr_pages": len(pages)}
    if pages:
        out["ocr_s"] = round(pages[-1], 2)
        out["ocr_pages_per_s"] = round(len(pages) / pages[-1], 3)
        out["ocr_s_per_page"] = round(pages[-1] / len(pages), 2)
    if rebuild_after:
        t1 = time.perf_counter()
        Assistant.build(settings, rebuild=True)
        out["reindex_cached_s"] = round(time.perf_counter() - t1, 2)
    return out


def run_ocr_bench(pages: int = 20) -> dict[str, Any]:
    from evals.scanned import make_scanned_pages
    from retrieval.readers import _ocr

    tmp = Path(tempfile.mkdtemp(prefix="pa-ocrbench-"))
    try:
        scanned, text = make_scanned_pages(tmp / "src", pages)
        t0 = time.perf_counter()
        _ocr.engine()  # the models load once per process
        engine_s = time.perf_counter() - t0
        scan = _index(scanned, tmp / "scan", rebuild_after=True)
        layer = _index(text, tmp / "text")
        return {
            "pages": pages, "cores": os.cpu_count(), "loadavg_before": list(os.getloadavg()),
            "engine_load_s": round(engine_s, 2), "scanned": scan, "text_layer": layer,
            "scanned_vs_text_layer_index_time": round(scan["index_s"] / max(layer["index_s"], 1e-9), 1),
        }
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
