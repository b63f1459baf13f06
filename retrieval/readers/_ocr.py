"""OCR, offline: an image -> pieces of text with their boxes (RapidOCR on onnxruntime).

`rapidocr` 3.x carries its PP-OCR detection and recognition models inside the wheel; `engine()` makes one
RapidOCR per process from them (the text-direction classifier is off: scans are upright) and refuses to
start when they are missing rather than let rapidocr download anything. Calls are serialised (one page at
a time; onnxruntime uses the cores for that page).

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
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Callable, Iterator

from retrieval.cnparse import CN_ORDINAL
from retrieval.errors import DocumentError
from retrieval.readers._layout import Piece

log = logging.getLogger(__name__)

ProgressCallback = Callable[[str, int, int], None]
_progress: contextvars.ContextVar[ProgressCallback | None] = contextvars.ContextVar("pa_read_progress", default=None)
_engine = None
_engine_lock = threading.Lock()
_run_lock = threading.Lock()
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

        return version("rapidocr")
    except Exception:  # noqa: BLE001 - only a cache key
        return "unknown"


def engine():
    """The process's RapidOCR (built on first use from the bundled models; OcrUnavailable when it cannot be)."""
    global _engine
    with _engine_lock:
        if _engine is None:
            try:
                from rapidocr import RapidOCR

                models = _bundled_models()
                _engine = RapidOCR(params={"Global.log_level": "error", "Global.use_cls": False,
                                           **{key: str(path) for key, path in models.items()}})
            except OcrUnavailable:
                raise
            except Exception as exc:  # noqa: BLE001 - ImportError, onnxruntime failures…
                raise OcrUnavailable(f"OCR is not available: {type(exc).__name__}: {exc}") from exc
        return _engine


def recognise(image) -> list[Piece]:
    """The text pieces RapidOCR finds in a PIL image, with their boxes in the image's pixels."""
    eng = engine()
    with _run_lock:
        result = eng(image)
    boxes = getattr(result, "boxes", None)
    if boxes is None:
        return []
    pieces = []
    for quad, text, _score in zip(boxes, result.txts or (), result.scores or ()):
        xs = [float(pt[0]) for pt in quad]
        ys = [float(pt[1]) for pt in quad]
        # the line's own height: the quad's left and right edges (its bounding box is taller when rotated)
        h = (abs(quad[3][1] - quad[0][1]) + abs(quad[2][1] - quad[1][1])) / 2
        pieces.append(Piece(str(text), min(xs), min(ys), max(xs), max(ys), float(h)))
    return pieces


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
