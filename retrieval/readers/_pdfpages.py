"""PDF pages as PDFium sees them (pypdfium2): what is drawn on a page, the page as an image, where text is.

* `page_marks(doc, i)`: how many ruling paths a page draws (a ruled table has many) and how much of it is
  covered by images (a scan is one image over the whole page);
* `render(doc, i, dpi, max_pixels)`: the page as a PIL image (the resolution lowered when the page is so
  large that the image would pass max_pixels);
* `text_boxes(path, page, text)`: where a passage's words are on a text-layer page (for the view's box);
* `page_png(path, page, dpi, max_pixels)`: a page image for the view, as PNG bytes.
Boxes are fractions of the page, top-left origin: (x0, y0, x1, y1).
"""
from __future__ import annotations

import io
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

Box = tuple[float, float, float, float]
SEARCH_CHARS = 12  # a passage is found on its page by its first and last characters


@dataclass(frozen=True)
class PageMarks:
    paths: int  # ruling lines and rectangles drawn
    image_cover: float  # share of the page covered by images (0..1)
    image_pixels: int = 0  # the images' own pixels (width x height of each as stored), summed
    size: tuple[float, float] = (0.0, 0.0)  # the page in points


@contextmanager
def open_pdf(path: Path) -> Iterator[object]:
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(str(path))
    try:
        yield doc
    finally:
        doc.close()


def page_marks(doc, index: int) -> PageMarks:
    import pypdfium2.raw as pdfium_c

    page = doc[index]
    try:
        width, height = page.get_size()
        area = max(width * height, 1.0)
        paths = 0
        covered = 0.0
        pixels = 0
        for obj in page.get_objects(max_depth=4):
            if obj.type == pdfium_c.FPDF_PAGEOBJ_PATH:
                paths += 1
            elif obj.type == pdfium_c.FPDF_PAGEOBJ_IMAGE:
                left, bottom, right, top = obj.get_bounds()
                covered += max(0.0, min(right, width) - max(left, 0.0)) * max(0.0, min(top, height) - max(bottom, 0.0))
                try:
                    px_w, px_h = obj.get_px_size()  # from the image's dictionary: nothing is decoded
                    pixels += max(0, px_w) * max(0, px_h)
                except Exception:  # noqa: BLE001 - an image PDFium cannot size counts as none
                    pass
        return PageMarks(paths, min(1.0, covered / area), pixels, (width, height))
    finally:
        page.close()


def _scale(page, dpi: int, max_pixels: int) -> float:
    width, height = page.get_size()
    scale = dpi / 72
    pixels = width * height * scale * scale
    if pixels > max_pixels:
        scale *= (max_pixels / pixels) ** 0.5
    return scale


def render(doc, index: int, dpi: int, max_pixels: int):
    """The page as a greyscale PIL image at `dpi` (lower when it would pass max_pixels)."""
    page = doc[index]
    try:
        bitmap = page.render(scale=_scale(page, dpi, max_pixels), grayscale=True)
        return bitmap.to_pil()
    finally:
        page.close()


def page_png(path: Path, page_no: int, dpi: int, max_pixels: int) -> bytes:
    """Page `page_no` (1-based) as PNG bytes."""
    with open_pdf(path) as doc:
        image = render(doc, page_no - 1, dpi, max_pixels)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=False)
    return out.getvalue()


def page_count(path: Path) -> int:
    with open_pdf(path) as doc:
        return len(doc)


def text_boxes(path: Path, page_no: int, text: str) -> list[Box]:
    """Where `text` (a passage) is on page `page_no` of a text-layer PDF: one box per line from its first
    to its last characters (whitespace ignored on both sides; [] when it is not found there)."""
    words = "".join(text.split())
    if not words:
        return []
    with open_pdf(path) as doc:
        page = doc[page_no - 1]
        textpage = page.get_textpage()
        try:
            width, height = page.get_size()
            count = textpage.count_chars()
            kept = [(i, ch) for i, ch in enumerate(textpage.get_text_range(0, count)) if not ch.isspace()]
            flat = "".join(ch for _i, ch in kept)
            first = flat.find(words[:SEARCH_CHARS])
            if first < 0:
                return []
            tail = words[-SEARCH_CHARS:]
            end = flat.find(tail, first)
            last = end + len(tail) - 1 if end >= 0 else first + min(len(words), SEARCH_CHARS) - 1
            boxes = [textpage.get_charbox(kept[k][0]) for k in range(first, min(last, len(kept) - 1) + 1)]
        finally:
            textpage.close()
            page.close()
    return _lines(boxes, width, height)


def _lines(charboxes: list[tuple[float, float, float, float]], width: float, height: float) -> list[Box]:
    """Character boxes (PDF coordinates: left, bottom, right, top) -> one box per line, fractions of the page."""
    lines: list[list[float]] = []
    for left, bottom, right, top in charboxes:
        if right <= left:
            continue  # spaces and line ends have no width
        if lines and abs(lines[-1][1] - bottom) < (top - bottom) * 0.6:
            line = lines[-1]
            line[0], line[1], line[2], line[3] = min(line[0], left), min(line[1], bottom), max(line[2], right), max(line[3], top)
        else:
            lines.append([left, bottom, right, top])
    return [(x0 / width, 1 - y1 / height, x1 / width, 1 - y0 / height) for x0, y0, x1, y1 in lines]
