"""What the text layer of a PDF misses: scanned pages (OCR) and ruled tables (pdfplumber).

`improve_pages(path, limits, texts, started)` looks at every page with PDFium (`_pdfpages.page_marks`):
* a page whose text layer is empty (fewer than MIN_PAGE_CHARS characters), or mostly empty over a
  page-sized image (a scan with a stray line of text), is rendered at `limits.ocr_dpi` and read by OCR;
  what OCR renders is bounded before anything is rendered (`ocr_pixels`): a page without text whose
  images are tiny (under TINY_IMAGE_PIXELS) and that draws little else is skipped (nothing to read); a page
  that is only images is rendered no finer than they are (at most UPSCALE times their pixels, at least
  MIN_OCR_PIXELS); every page at most PA_MAX_IMAGE_PIXELS; and a document whose pages together would pass
  PA_OCR_MAX_PIXELS_PER_DOCUMENT is refused before the first page is rendered;
  its lines are laid out into paragraphs (`_layout.lay_out`) and replace the text layer when they hold
  more text. Pages are recognised several at once (`_ocr.in_parallel`, one core each), taken in order;
  the OCR time of the document is bounded by `limits.ocr_timeout_seconds`, its progress reported page by page; a page that fails OCR is reported in the warnings and the others are kept;
* a page that draws ruling lines (MIN_TABLE_PATHS or more) is read again with pdfplumber: when it finds
  tables there, the page's text becomes its lines outside the tables and each table's rows (TAB-separated,
  header first; cells merged across columns or rows filled in; a unit line above a table moved into the
  headers of its numeric columns), in reading order.
The pages changed this way keep their lines' boxes (`layout`, page number -> Spans) for the citation view.
"""
from __future__ import annotations

import logging
import re
import threading
import time
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from retrieval.errors import DocumentError
from retrieval.readers._layout import Piece, Span, lay_out
from retrieval.readers._limits import ReadLimits
from retrieval.readers._ocr import OcrUnavailable, file_key, in_parallel, ocr_cached, ocr_parallel, report
from retrieval.readers._pdfpages import PageMarks, open_pdf, page_marks, render
from retrieval.readers._text import unit_into_header

log = logging.getLogger(__name__)

MIN_PAGE_CHARS = 10  # a page with fewer non-space characters in its text layer has none: OCR it
MOSTLY_EMPTY_CHARS = 60  # ... or fewer than this over an image covering most of the page
SCAN_COVER = 0.6  # share of the page an image must cover to be a scan
MIN_TABLE_PATHS = 6  # ruling lines / rectangles a page must draw to be looked at for tables
TINY_IMAGE_PIXELS = 64 * 64  # a page without text whose images hold fewer pixels has nothing OCR could read
VECTOR_PATHS = 20  # ... unless it draws this many paths (text as outlines): then it is rendered at the dpi
UPSCALE = 4  # a page of images is rendered with at most this many times their pixels (a low-resolution scan)
MIN_OCR_PIXELS = 1_000_000  # ... and at least this many (about a 100 dpi A4 page)


@dataclass
class ScanResult:
    layout: dict[int, list[Span]] = field(default_factory=dict)  # page number -> its lines with boxes
    ocr_pages: list[int] = field(default_factory=list)  # page numbers whose text came from OCR
    warnings: list[str] = field(default_factory=list)
    unavailable: str | None = None  # why OCR could not run, when a page needed it


def _chars(text: str) -> int:
    return len(re.sub(r"\s", "", text))


def _check_time(started: float, limit: float, setting: str, what: str, i: int, n: int, path: Path) -> None:
    if (spent := time.monotonic() - started) > limit:
        raise DocumentError(f"{what} took longer than {limit:g} s ({spent:.1f} s, stopped before page {i + 1} "
                            f"of {n}; {setting})", path=str(path))


def improve_pages(path: Path, limits: ReadLimits, texts: list[str], started: float) -> ScanResult:
    """OCR the scanned pages and read the ruled tables of a PDF whose text layer is `texts` (one string
    per page, replaced in place); see the module docstring."""
    result = ScanResult()
    n = len(texts)
    try:
        with open_pdf(path) as doc:
            scans, tables, marks_of = [], [], {}
            for i in range(n):
                _check_time(started, limits.pdf_timeout_seconds, "PA_PDF_TIMEOUT_SECONDS", "reading the PDF", i, n, path)
                marks = page_marks(doc, i)
                chars = _chars(texts[i])
                if chars < MIN_PAGE_CHARS or (chars < MOSTLY_EMPTY_CHARS and marks.image_cover >= SCAN_COVER):
                    scans.append(i)
                    marks_of[i] = marks
                elif marks.paths >= MIN_TABLE_PATHS:
                    tables.append(i)
            if tables:
                _read_tables(path, limits, texts, tables, started, result)
            if scans:
                _ocr_pages(doc, path, limits, texts, _ocr_plan(path, limits, scans, marks_of, result), result)
    except DocumentError:
        raise
    except Exception as exc:  # noqa: BLE001 - PDFium cannot open what pypdf could: keep the text layer
        log.debug("PDFium could not examine %s", path, exc_info=True)
        result.warnings.append(f"pages not examined for scans and tables ({type(exc).__name__}: {exc})")
    return result


def ocr_pixels(marks: PageMarks, dpi: int, max_pixels: int) -> int:
    """The most pixels OCR renders the page at (0: skipped, nothing to read); see the module docstring."""
    width, height = marks.size
    at_dpi = min(width * height * (dpi / 72) ** 2, max_pixels)
    if marks.paths >= VECTOR_PATHS:
        return int(at_dpi)
    if marks.image_pixels < TINY_IMAGE_PIXELS or marks.image_cover <= 0:
        return 0
    return int(min(at_dpi, max(MIN_OCR_PIXELS, UPSCALE * marks.image_pixels / marks.image_cover)))


def _ocr_plan(path: Path, limits: ReadLimits, scans: list[int], marks_of: dict[int, PageMarks],
              result: ScanResult) -> list[tuple[int, int]]:
    """(page index, most pixels) of each page OCR renders; DocumentError when they pass the document's budget."""
    plan = [(i, ocr_pixels(marks_of[i], limits.ocr_dpi, limits.max_image_pixels)) for i in scans]
    if skipped := [i + 1 for i, pixels in plan if not pixels]:
        result.warnings.append(f"page{'s' if len(skipped) > 1 else ''} {', '.join(map(str, skipped[:20]))}"
                               f"{' …' if len(skipped) > 20 else ''}: no text layer and no image large enough to "
                               "read; skipped")
    total = sum(pixels for _, pixels in plan)
    if total > limits.ocr_max_pixels_per_document:
        raise DocumentError(f"its pages without a text layer would be rendered at {total:,} pixels for OCR; at most "
                            f"{limits.ocr_max_pixels_per_document:,} are rendered per document "
                            "(PA_OCR_MAX_PIXELS_PER_DOCUMENT): split it or lower its resolution", path=str(path))
    return [(i, pixels) for i, pixels in plan if pixels]


def _ocr_pages(doc, path: Path, limits: ReadLimits, texts: list[str], scans: list[tuple[int, int]],
               result: ScanResult) -> None:
    """OCR the pages `scans` ((page index, most pixels)), up to `ocr_parallel()` at once (PDFium renders one page
    at a time: not thread-safe); the results are taken in page order, the time limit checked before each."""
    started = time.monotonic()
    key = file_key(path)
    pdfium = threading.Lock()

    def page_image(i: int, pixels: int):
        with pdfium:
            return render(doc, i, limits.ocr_dpi, pixels)

    jobs = (partial(ocr_cached, f"{key}-p{i + 1}-{limits.ocr_dpi}", partial(page_image, i, pixels),
                    limits.ocr_cache_dir) for i, pixels in scans)
    for k, ((i, _pixels), future) in enumerate(zip(scans, in_parallel(jobs, ocr_parallel()))):
        _check_time(started, limits.ocr_timeout_seconds, "PA_OCR_TIMEOUT_SECONDS", "OCR of the PDF", i, len(texts), path)
        try:
            pieces, (width, height) = future.result()
        except OcrUnavailable as exc:
            result.unavailable = f"the PDF has no text layer and needs OCR, which is not available here ({exc})"
            result.warnings.append(f"pages {', '.join(str(p + 1) for p, _ in scans[k:])}: not read ({exc})")
            return
        except Exception as exc:  # noqa: BLE001 - one page that fails OCR: reported, the others kept
            log.debug("OCR failed on page %d of %s", i + 1, path, exc_info=True)
            result.warnings.append(f"page {i + 1}: OCR failed ({type(exc).__name__}: {exc})")
            continue
        spans = lay_out(pieces, width, height)
        text = "\n".join(s.text for s in spans)
        if _chars(text) > _chars(texts[i]):
            texts[i] = text
            result.layout[i + 1] = spans
            result.ocr_pages.append(i + 1)
        report(path, k + 1, len(scans))


def fill_merged(rows: list[list[str | None]]) -> list[list[str]]:
    """A table as pdfplumber extracts it (None in the cells a merged cell covers) with those cells filled:
    in the header row from the left (a title over several columns), below it from above (a name over
    several rows)."""
    out: list[list[str]] = []
    for r, row in enumerate(rows):
        filled: list[str] = []
        for c, cell in enumerate(row):
            if cell is None:
                if r == 0:
                    cell = filled[c - 1] if c > 0 else ""
                else:
                    above = out[r - 1]
                    cell = above[c] if c < len(above) else ""
            filled.append(cell)
        out.append(filled)
    return out


def _read_tables(path: Path, limits: ReadLimits, texts: list[str], pages: list[int], started: float,
                 result: ScanResult) -> None:
    import pdfplumber

    try:
        pdf = pdfplumber.open(str(path))
    except Exception as exc:  # noqa: BLE001 - the text layer stays
        result.warnings.append(f"tables not read ({type(exc).__name__}: {exc})")
        return
    with pdf:
        for i in pages:
            _check_time(started, limits.pdf_timeout_seconds, "PA_PDF_TIMEOUT_SECONDS", "reading the PDF", i, len(texts), path)
            try:
                spans = _page_with_tables(pdf.pages[i])
            except Exception as exc:  # noqa: BLE001 - one page's tables: reported, its text layer kept
                log.debug("pdfplumber failed on page %d of %s", i + 1, path, exc_info=True)
                result.warnings.append(f"page {i + 1}: tables not read ({type(exc).__name__}: {exc})")
                continue
            if any("\t" in s.text for s in spans):
                texts[i] = "\n".join(s.text for s in spans)
                result.layout[i + 1] = spans


def _page_with_tables(page) -> list[Span]:
    """The page's lines outside its tables and the tables' rows, in reading order ([] without tables)."""
    found = page.find_tables()
    if not found:
        return []
    x_off, y_off = page.bbox[0], page.bbox[1]
    outside = page
    tables = []
    for table in found:
        outside = outside.outside_bbox(table.bbox)
        rows = fill_merged(table.extract())
        boxes = [row.bbox for row in table.rows]
        tables.append((_shift(table.bbox, x_off, y_off),
                       [(_shift(box, x_off, y_off), [c or "" for c in cells]) for box, cells in zip(boxes, rows)]))
    pieces = [Piece(line["text"], line["x0"] - x_off, line["top"] - y_off, line["x1"] - x_off, line["bottom"] - y_off)
              for line in outside.extract_text_lines()]
    return fold_unit_lines(lay_out(pieces, page.width, page.height, tables))


def fold_unit_lines(spans: list[Span]) -> list[Span]:
    """A unit line right above a table (`单位：万元`) moved into the headers of its numeric columns."""
    out: list[Span] = []
    i = 0
    while i < len(spans):
        span = spans[i]
        j = i + 1
        while j < len(spans) and "\t" in spans[j].text:
            j += 1
        rows = [s.text.split("\t") for s in spans[i + 1:j]]
        if "\t" not in span.text and rows and (moved := unit_into_header(span.text, rows)) is not None:
            out += [Span("\t".join(cells), s.box) for cells, s in zip(moved, spans[i + 1:j])]
            i = j
            continue
        out.append(span)
        i += 1
    return out


def _shift(box, dx: float, dy: float) -> tuple[float, float, float, float]:
    return (box[0] - dx, box[1] - dy, box[2] - dx, box[3] - dy)
