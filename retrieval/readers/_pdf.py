"""PDF: the pages' text joined by `\\n\\f` (page count = number of `\\f` + 1).

The text layer is read with pypdf. Then (`retrieval.readers._pdfscan`) pages without a text layer (or
with a mostly empty one over a page-sized image) are rendered and read by OCR, and pages that draw a
ruled table are read again with pdfplumber so the table comes out as TAB rows under its header.

The file must carry the `%PDF-` header; the page count and the parse time are limited (ReadLimits,
checked between pages), and so is the OCR time. A PDF with no text even after OCR, an encrypted or a
damaged one is a DocumentError saying so.
"""
from __future__ import annotations

import logging
import re
import time
from pathlib import Path

from retrieval.errors import DocumentError
from retrieval.readers import Extracted, ReadLimits, Reader
from retrieval.readers._pdfscan import improve_pages
from retrieval.readers._sniff import PDF_HEADER_WINDOW, describe_content, suffix_of
from retrieval.readers._text import clean_line

log = logging.getLogger(__name__)

NO_TEXT_LAYER = ("the PDF has no text: no text layer, and OCR found no text on its pages "
                 "(blank pages, or a scan too faint to read?)")
MIN_PDF_CHARS = 20  # fewer non-space characters in the whole PDF (after OCR): no text


def check_pdf_header(path: Path) -> None:
    """DocumentError unless the file starts (within its first KB) with the `%PDF-` header."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(PDF_HEADER_WINDOW)
    except OSError as exc:
        raise DocumentError(f"cannot read: {exc.strerror or exc}", path=str(path)) from exc
    if b"%PDF-" not in head:
        raise DocumentError(f"expected a PDF for a {suffix_of(path)} file, but the content has no %PDF- "
                                       f"header (it is {describe_content(path)})", path=str(path))


class PdfReader(Reader):
    """PDF: the pages' text (text layer, OCR for scanned pages, ruled tables as rows) joined by `\\n\\f`.

    A PDF with no text even after OCR, an encrypted or a damaged one is a DocumentError saying so."""

    name = "pdf"
    suffixes = (".pdf",)
    kinds = ("pdf",)

    def extract(self, path: Path, limits: ReadLimits | None = None) -> Extracted:
        try:
            import pypdf
            from pypdf.errors import (
                DependencyError,
                FileNotDecryptedError,
                PdfReadError,
            )
        except ImportError as exc:  # pragma: no cover - a declared dependency
            raise DocumentError(f"pypdf is not installed: {exc}", path=str(path)) from exc
        logging.getLogger("pypdf").setLevel(logging.ERROR)  # pypdf warns about every quirk of a file
        limits = ReadLimits() if limits is None else limits
        started = time.monotonic()
        check_pdf_header(path)
        try:
            reader = pypdf.PdfReader(str(path), strict=False)
            if reader.is_encrypted:
                try:
                    ok = reader.decrypt("")
                except DependencyError as exc:
                    raise DocumentError(f"the PDF is encrypted and cannot be decrypted here ({exc}); "
                                                   "save an unprotected copy", path=str(path)) from exc
                if not ok:
                    raise DocumentError("the PDF is encrypted (password-protected): "
                                                   "save an unprotected copy to index it", path=str(path))
            pages = reader.pages
            n = len(pages)
        except DocumentError:
            raise
        except FileNotDecryptedError as exc:
            raise DocumentError(f"the PDF is encrypted (password-protected): {exc}", path=str(path)) from exc
        except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, IndexError, OSError,
                RecursionError, AssertionError) as exc:
            raise DocumentError(f"not a readable PDF (damaged?): {type(exc).__name__}: {exc}", path=str(path)) from exc
        except Exception as exc:
            raise DocumentError(f"not a readable PDF: {type(exc).__name__}: {exc}", path=str(path)) from exc
        if n == 0:
            raise DocumentError("the PDF has no pages (damaged?)", path=str(path))
        if n > limits.max_pdf_pages:
            raise DocumentError(f"the PDF has {n} pages; at most {limits.max_pdf_pages} are read "
                                           "(PA_MAX_PDF_PAGES): split it into smaller files", path=str(path))
        texts: list[str] = []
        failed: list[str] = []
        for i in range(n):
            if (spent := time.monotonic() - started) > limits.pdf_timeout_seconds:
                raise DocumentError(f"reading the PDF took longer than {limits.pdf_timeout_seconds:g} s "
                                               f"({spent:.1f} s, stopped before page {i + 1} of {n}; "
                                               "PA_PDF_TIMEOUT_SECONDS)", path=str(path))
            try:
                raw = pages[i].extract_text() or ""
            except Exception as exc:  # noqa: BLE001 - one bad page (broken font, stream…) is not the whole document
                failed.append(f"page {i + 1}: {type(exc).__name__}: {exc}")
                raw = ""
            texts.append(self._page_text(raw))
        scan = improve_pages(Path(path), limits, texts, started)  # OCR and ruled tables; texts updated in place
        chars = sum(len(re.sub(r"\s", "", t)) for t in texts)
        if chars < MIN_PDF_CHARS:
            if failed and len(failed) * 2 >= n:
                raise DocumentError("the PDF text could not be extracted (" + "; ".join(failed[:3]) + ")", path=str(path))
            raise DocumentError(scan.unavailable or NO_TEXT_LAYER, path=str(path))
        warnings = [f"no text from {f}" for f in failed] + scan.warnings
        if warnings:
            log.warning("%s: %s", path, "; ".join(warnings))
        return Extracted(text="\n\f".join(texts) + "\n", pages=n, layout=scan.layout or None,
                         ocr_pages=tuple(scan.ocr_pages), warnings=warnings)

    @staticmethod
    def _page_text(raw: str) -> str:
        lines = [clean_line(line) for line in raw.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
        return "\n".join(lines).strip("\n")
