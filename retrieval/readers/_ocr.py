"""OCR, offline: an image -> pieces of text with their boxes (RapidOCR on onnxruntime).

`rapidocr` 3.x carries its PP-OCR detection and recognition models inside the wheel; `engine()` makes one
RapidOCR per process from them (the text-direction classifier is off: scans are upright) and refuses to
start when they are missing rather than let rapidocr download anything.

Throughput (see `ocr-bench --before`): each onnxruntime session runs on ONE thread (with its memory arena
on), and up to `ocr_parallel()` pages are recognised at once (one core each; `pages_in_parallel` below,
used by the PDF reader): on 2 cores two single-threaded pages get more done than one page on two threads,
whose threads mostly wait on each other. The detector sees only the part of the page that has ink (the
blank margins cut off, MARGIN pixels kept around it: `content_box`), at its own resolution (never scaled
up, at most DET_MAX_SIDE pixels a side); the boxes are moved back into the page's pixels. A page with a
dozen lines is a third of the pixels to look at, and the recogniser reads the same lines.

`ocr_cached(key, render, cache_dir)`: the pieces of one page image, kept in `cache_dir` under `key` (the
file's content hash, the page, the resolution and the engine's version), so a scanned document is
recognised once however often the corpus is read. The cache is plain JSON written atomically.

Progress: `reading_progress(callback)` lets a caller (the CLI's progress bar) follow long documents:
`callback(file name, pages done, pages to do)` after each page recognised.
"""
from __future__ import annotations

import contextvars
import hashlib
import json
import logging
import os
import re
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import replace
from collections import deque
from pathlib import Path
from typing import Callable, Iterable, Iterator, TypeVar

from retrieval.ingest.cnparse import CN_ORDINAL
from retrieval.errors import DocumentError
from retrieval.readers._layout import Piece

log = logging.getLogger(__name__)

ProgressCallback = Callable[[str, int, int], None]
_progress: contextvars.ContextVar[ProgressCallback | None] = contextvars.ContextVar("pa_read_progress", default=None)
_engine = None
_engine_lock = threading.Lock()
MAX_PARALLEL = 4  # pages recognised at once, at most (each holds its page image and onnxruntime's buffers)
DET_MAX_SIDE = 2000  # the detector's input is scaled down to at most this a side (as rapidocr's max_side_len)
INK = 160  # a grey level below this is ink (0 black .. 255 white)
MARGIN = 64  # pixels kept around the ink for the detector
ENGINE_PARAMS = {
    "Global.log_level": "error", "Global.use_cls": False,
    "Det.limit_type": "max", "Det.limit_side_len": DET_MAX_SIDE,
    "EngineConfig.onnxruntime.intra_op_num_threads": 1, "EngineConfig.onnxruntime.inter_op_num_threads": 1,
    "EngineConfig.onnxruntime.enable_cpu_mem_arena": True,
}
CONFIG_TAG = f"ink{INK}m{MARGIN}"  # in the cache key: results of another engine configuration are not reused
_ARTICLE_START = re.compile(rf"^(第{CN_ORDINAL}条)(?=[^\s\d])")


class OcrUnavailable(RuntimeError):
    """RapidOCR (or its bundled models) cannot be loaded here."""


def _bundled_models() -> dict[str, Path]:
    """The detection and recognition models inside the rapidocr wheel (the ones its defaults name)."""
    import rapidocr

    models = Path(rapidocr.__file__).parent / "models"
    found = {
        "Det.model_path": sorted(models.glob("*det*.onnx")),
        "Rec.model_path": sorted(models.glob("*rec*.onnx")),
    }
    missing = [key for key, paths in found.items() if not paths]
    if missing:
        raise OcrUnavailable(f"the rapidocr package has no bundled {', '.join(missing)} in {models}; "
                             "reinstall rapidocr (3.x ships its models in the wheel)")
    return {key: paths[0] for key, paths in found.items()}


def engine_version() -> str:
    try:
        from importlib.metadata import version

        return f"{version('rapidocr')}-{CONFIG_TAG}"
    except Exception:  # noqa: BLE001 - only a cache key
        return f"unknown-{CONFIG_TAG}"


def ocr_parallel() -> int:
    """How many pages are recognised at once: the machine's cores, at most MAX_PARALLEL."""
    return max(1, min(os.cpu_count() or 1, MAX_PARALLEL))


_slots = threading.BoundedSemaphore(ocr_parallel())


def engine():
    """The process's RapidOCR (built on first use from the bundled models; OcrUnavailable when it cannot be)."""
    global _engine
    with _engine_lock:
        if _engine is None:
            try:
                from rapidocr import RapidOCR

                models = _bundled_models()
                _engine = RapidOCR(params={**ENGINE_PARAMS, **{key: str(path) for key, path in models.items()}})
            except OcrUnavailable:
                raise
            except Exception as exc:  # noqa: BLE001 - ImportError, onnxruntime failures…
                raise OcrUnavailable(f"OCR is not available: {type(exc).__name__}: {exc}") from exc
        return _engine


def content_box(image) -> tuple[int, int, int, int] | None:
    """(x0, y0, x1, y1): the part of a PIL image with ink, MARGIN pixels around it; None when it has none."""
    import numpy as np

    ink = np.asarray(image.convert("L")) < INK
    rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    if not len(rows):
        return None
    return (max(int(cols[0]) - MARGIN, 0), max(int(rows[0]) - MARGIN, 0),
            min(int(cols[-1]) + MARGIN + 1, image.width), min(int(rows[-1]) + MARGIN + 1, image.height))


def recognise(image) -> list[Piece]:
    """The text pieces RapidOCR finds in a PIL image, with their boxes in the image's pixels."""
    box = content_box(image)
    if box is None:
        return []
    eng = engine()
    with _slots:  # onnxruntime sessions may run concurrently; one core each
        result = eng(image.crop(box))
    boxes = getattr(result, "boxes", None)
    if boxes is None:
        return []
    pieces = []
    dx, dy = box[0], box[1]
    for quad, text, _score in zip(boxes, result.txts or (), result.scores or ()):
        quad = [(float(pt[0]) + dx, float(pt[1]) + dy) for pt in quad]
        xs = [pt[0] for pt in quad]
        ys = [pt[1] for pt in quad]
        # the line's own height: the quad's left and right edges (its bounding box is taller when rotated)
        h = (abs(quad[3][1] - quad[0][1]) + abs(quad[2][1] - quad[1][1])) / 2
        pieces.append(Piece(str(text), min(xs), min(ys), max(xs), max(ys), float(h)))
    return pieces


T = TypeVar("T")


def in_parallel(jobs: Iterable[Callable[[], T]], workers: int) -> Iterator[Future]:
    """The jobs run on `workers` threads, a few ahead of the consumer; their futures in the jobs' order.
    A consumer that stops early (a timeout) cancels the jobs not started; the running ones finish."""
    with ThreadPoolExecutor(max(1, workers), thread_name_prefix="pa-ocr") as pool:
        pending: deque[Future] = deque()
        try:
            for job in jobs:
                pending.append(pool.submit(job))
                if len(pending) > workers:
                    yield pending.popleft()
            while pending:
                yield pending.popleft()
        finally:
            for future in pending:
                future.cancel()


def _article_space(text: str) -> str:
    """`第三条对…` -> `第三条 对…`: the space after an article number that OCR does not see (as typed)."""
    return _ARTICLE_START.sub(r"\1 ", text, count=1)


def file_key(path: Path) -> str:
    """The content hash of a file (the cache key of its OCR results)."""
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def ocr_cached(key: str, render: Callable[[], object], cache_dir: Path | None
               ) -> tuple[list[Piece], tuple[float, float]]:
    """(pieces, (image width, height)) of the image `render()` gives, from the cache when it has `key`."""
    entry = Path(cache_dir) / f"{key}-{engine_version()}.json" if cache_dir is not None else None
    if entry is not None and entry.is_file():
        try:
            data = json.loads(entry.read_text(encoding="utf-8"))
            return _typed([Piece(*p) for p in data["pieces"]]), tuple(data["size"])  # type: ignore[return-value]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("OCR cache entry %s is unreadable (%s); recognising again", entry.name, exc)
    image = render()
    pieces = recognise(image)
    size = (float(image.width), float(image.height))
    if entry is not None:
        _write_entry(entry, {"size": size, "pieces": [[p.text, p.x0, p.y0, p.x1, p.y1, p.h] for p in pieces]})
    return _typed(pieces), size


def _typed(pieces: list[Piece]) -> list[Piece]:
    """OCR's text as a person would have typed it (see _article_space)."""
    return [replace(p, text=_article_space(p.text)) for p in pieces]


def _write_entry(entry: Path, data: dict) -> None:
    tmp = entry.with_name(f".{entry.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        entry.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
        os.replace(tmp, entry)
    except OSError as exc:  # a cache that cannot be written only costs time
        tmp.unlink(missing_ok=True)
        log.warning("could not keep the OCR result in %s: %s", entry.parent, exc)


def unavailable(exc: OcrUnavailable, path: Path) -> DocumentError:
    return DocumentError(f"needs OCR, which is not available here ({exc})", path=str(path))


# ----------------------------------------------------------------------------- progress


@contextmanager
def reading_progress(callback: ProgressCallback | None) -> Iterator[None]:
    """While inside: `callback(file name, pages done, pages to do)` after each page recognised."""
    token = _progress.set(callback)
    try:
        yield
    finally:
        _progress.reset(token)


def report(path: Path, done: int, total: int) -> None:
    log.info("OCR %s: page %d of %d", Path(path).name, done, total)
    callback = _progress.get()
    if callback is not None:
        callback(Path(path).name, done, total)
