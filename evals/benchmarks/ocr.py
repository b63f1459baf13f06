"""OCR throughput and the cost of indexing a scanned document, beside the same document with a text layer.

    python -m evals ocr-bench [--pages 20] [--out FILE]
    python -m evals ocr-bench --before main [--pages 4] [--rounds 2]

An INVENTED n-page document (evals/benchmarks/scanned.py) is made twice: page images only (a scan) and with a text
layer. Each is indexed alone into a fresh library (bundled embedder, embedded Chroma), cold: nothing cached.
For the scan the OCR pages per second come from the reading progress (the time from the start of the build
to the last page recognised); `reindex_cached_s` is a rebuild of the scan's index once its OCR results are
cached (what every later `index`, `docs add` or server start costs). All figures come from one run.

`--before REV`: the OCR of this checkout against the OCR of git revision REV (e.g. `main`), in one run.
REV's files are exported (`git archive`) to a temporary folder; the same invented files (the n-page scan,
a page tilted the other way, a photo) are read by each side's own readers in a fresh process
(PYTHONPATH = that side), the sides taking turns `rounds` times, models loaded and warmed before the clock
starts. Reported: seconds per page of each side, the speed-up, and whether the recognised text of every
file is identical.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
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
    from evals.benchmarks.scanned import make_scanned_pages
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


# Runs in a fresh process inside one side's checkout: reads each file with that side's readers (OCR not
# cached), the engine loaded and the photo read once before timing. Prints {name: {seconds, pages, text}}.
_SIDE = r"""
import json, sys, time
from pathlib import Path
from retrieval.readers import ReadLimits, reader_for
from retrieval.readers import _ocr
limits = ReadLimits(ocr_timeout_seconds=7200, pdf_timeout_seconds=3600, ocr_cache_dir=None)
files = [Path(f) for f in sys.argv[1:]]
_ocr.engine()
reader_for(files[-1]).extract(files[-1], limits)
out = {}
for f in files:
    t0 = time.perf_counter()
    got = reader_for(f).extract(f, limits)
    out[f.name] = {"seconds": time.perf_counter() - t0, "pages": got.pages, "text": got.text}
print(json.dumps(out, ensure_ascii=False))
"""


def _export(rev: str, into: Path) -> Path:
    """The files of git revision `rev` of this checkout, written under `into`."""
    root = Path(__file__).resolve().parent.parent
    into.mkdir(parents=True)
    try:
        archive = subprocess.run(["git", "-C", str(root), "archive", "--format=tar", rev],
                                 capture_output=True, check=True).stdout
    except subprocess.CalledProcessError as exc:
        raise ValueError(f"--before {rev!r}: not a git revision of {root.name} "
                         f"({exc.stderr.decode(errors='replace').strip()})") from exc
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


def _side(checkout: Path, files: list[Path]) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(checkout)}
    done = subprocess.run([sys.executable, "-c", _SIDE, *map(str, files)], cwd=checkout, env=env,
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"reading with the checkout {checkout} failed: {done.stderr.strip()[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def run_ocr_before(before: str, pages: int = 4, rounds: int = 2) -> dict[str, Any]:
    """This checkout's OCR against revision `before`'s on the same files, in one run (see the docstring)."""
    from evals.benchmarks.scanned import make_scanned_pages, render_page, scanned_pages_text

    here = Path(__file__).resolve().parent.parent
    tmp = Path(tempfile.mkdtemp(prefix="pa-ocrbefore-"))
    try:
        old = _export(before, tmp / "before")
        scanned, _text = make_scanned_pages(tmp / "src", pages)
        photo = tmp / "src" / "照片.png"
        render_page(scanned_pages_text(1)[0][:3], rotate=1.2, size=(1100, 700)).save(photo)
        tilted = tmp / "src" / "扫描页-左倾.png"  # a page turned the other way, as the tests' scanned policy has
        render_page(scanned_pages_text(2)[1], rotate=-0.6).save(tilted)
        files = [scanned, tilted, photo]
        load_before = list(os.getloadavg())
        runs: dict[str, list[dict[str, Any]]] = {"before": [], "after": []}
        for _ in range(rounds):
            runs["before"].append(_side(old, files))
            runs["after"].append(_side(here, files))
        sides = {}
        for side, got in runs.items():
            seconds = sum(r[scanned.name]["seconds"] for r in got)
            sides[side] = {"s_per_page": round(seconds / (pages * rounds), 2),
                           "pages_per_s": round(pages * rounds / seconds, 3),
                           "photo_s": round(min(r[photo.name]["seconds"] for r in got), 2)}
        texts = {side: [{name: r["text"] for name, r in run.items()} for run in got] for side, got in runs.items()}
        differ = sorted({name for run in texts["before"] + texts["after"] for name, text in run.items()
                         if text != texts["before"][0][name]})
        return {"before_rev": before, "pages": pages, "rounds": rounds, "cores": os.cpu_count(),
                "loadavg_before": load_before,
                "loadavg_after": list(os.getloadavg()), **sides,
                "speedup": round(sides["before"]["s_per_page"] / max(sides["after"]["s_per_page"], 1e-9), 2),
                "text_identical": not differ, "text_differs_in": differ}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
