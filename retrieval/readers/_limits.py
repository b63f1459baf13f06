"""Read limits: how much work one document may cost the readers, and sizes written for people.

The limits come from the settings (`PA_MAX_DOCX_*`, `PA_MAX_PDF_PAGES`, `PA_PDF_TIMEOUT_SECONDS`,
`PA_MAX_IMAGE_PIXELS`, `PA_OCR_*`: `Settings.read_limits()`) and are passed down explicitly:
`load_document(path, limits)` -> `reader.extract(path, limits)` -> the checks. None anywhere means the
built-in `ReadLimits()`. `ocr_cache_dir` is where OCR results are kept by the file's content hash, so a
scanned document is recognised once however often the corpus is read (None: not kept).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

MB = 1024 * 1024


@dataclass(frozen=True)
class ReadLimits:
    """How much work one document may cost the readers (see the Settings fields of the same names)."""

    max_docx_uncompressed_bytes: int = 200 * MB  # the sum of the package's declared uncompressed sizes
    max_docx_compression_ratio: float = 200.0  # uncompressed / compressed, per entry (entries over 1 MB)
    max_docx_entries: int = 5000  # files in the ZIP package
    max_pdf_pages: int = 1000
    pdf_timeout_seconds: float = 60.0  # parsing + text extraction, checked between pages
    max_document_chars: int = 300_000  # the extracted text of one document
    max_meta_chars: int = 500  # one metadata value (title, issuer, …); a sidecar also has at most MAX_META_FIELDS
    max_image_pixels: int = 50_000_000  # an image (or a PDF page rendered for OCR) larger than this is refused
    ocr_dpi: int = 150  # PDF pages without a text layer are rendered at this resolution for OCR
    ocr_timeout_seconds: float = 900.0  # OCR of one document (all its scanned pages), checked between pages
    ocr_max_pixels_per_document: int = 500_000_000  # the pixels OCR would render for all pages, checked first
    ocr_cache_dir: Path | None = None  # OCR results by content hash; None: recognised again on every read


DOCX_RATIO_MIN_BYTES = 1 * MB  # the ratio cap applies to entries larger than this (tiny parts compress oddly)


def size_text(n: float) -> str:
    """A byte count for a message: `210 MB`, `65536 bytes`."""
    return f"{n / MB:.0f} MB" if n >= MB else f"{n:.0f} bytes"
