"""Third hardening round, R3-3 and R3-4: readers bound their work before they start.

R3-3  A 1.5 KB .xlsx whose sheet merges `A1:J100000` (or `A1:XFD1048576`, 17 billion cells) was loaded
      first and refused after (16 s, +240 MB that stayed; the larger one would take all memory). Now the
      sheet XML is read as a stream and the workbook refused naming the sheet and the merge before
      openpyxl loads anything: the test's openpyxl.load_workbook refuses to run for such a file, so the
      old order fails here without doing the expensive work. An honest merged workbook still reads.
R3-4  A 3 KB PDF of three 14,400 pt pages, each drawing a 4x4 image, was rendered for OCR at 50 million
      pixels a page (28 s, +1.1 GB). Now what OCR renders is bounded before rendering: such pages are
      skipped, a page of one small image is rendered no finer than it needs, and a document over
      PA_OCR_MAX_PIXELS_PER_DOCUMENT is refused before its first page (the test's render refuses to
      draw over 2 million pixels, so the old reader fails here without doing the expensive work).
The files are written by evals/benchmarks/hardening_files.py (the bench uses the same).

Speed and memory are measured by `python -m evals hardening-bench` (scenarios r3-xlsx, r3-pdf).
"""
from __future__ import annotations

import re
import zipfile

import pytest

from evals.benchmarks.hardening_files import edited_xlsx, huge_pages_pdf, merged_xlsx
from retrieval.errors import DocumentError
from retrieval.readers._xlsx import XlsxReader


@pytest.fixture
def loads(monkeypatch) -> list[str]:
    """openpyxl.load_workbook, refusing to load a workbook that merges more than MAX_CELLS cells (the old
    reader loaded it first: 16 s and +240 MB for A1:J100000, all memory for A1:XFD1048576)."""
    import openpyxl

    real, seen = openpyxl.load_workbook, []

    def load_workbook(filename, *args, **kwargs):
        seen.append(str(filename))
        with zipfile.ZipFile(filename) as zf:
            xml = zf.read("xl/worksheets/sheet1.xml").decode()
        if re.search(r'mergeCell ref="A1:(J100000|XFD1048576)"', xml):
            raise AssertionError("the workbook was loaded before its merged cells were checked")
        return real(filename, *args, **kwargs)

    monkeypatch.setattr(openpyxl, "load_workbook", load_workbook)
    return seen


@pytest.mark.parametrize("ref, cells", [("A1:J100000", "1,000,000"), ("A1:XFD1048576", "17,179,869,184")])
def test_an_xlsx_merging_too_many_cells_is_refused_before_it_is_loaded(tmp_path, loads, ref, cells):
    path = merged_xlsx(tmp_path / "merged.xlsx", ref)
    assert path.stat().st_size < 8000  # a few KB
    with pytest.raises(DocumentError) as caught:
        XlsxReader().extract(path)
    assert f"sheet1.xml merges {cells} cells (the largest merge {ref})" in str(caught.value)
    assert "at most 500,000" in str(caught.value) and loads == []


def test_an_xlsx_whose_cells_span_too_far_is_refused_before_it_is_loaded(tmp_path, loads):
    far = edited_xlsx(tmp_path / "far.xlsx", lambda xml: xml.replace(
        "</sheetData>", '<row r="900000"><c r="AZ900000" t="inlineStr"><is><t>远</t></is></c></row></sheetData>'))
    with pytest.raises(DocumentError, match=r"spans 46,800,000 cells \(sheet1.xml: 900,000 rows x 52 columns\)"):
        XlsxReader().extract(far)
    assert loads == []


def test_an_honest_merged_workbook_still_reads(tmp_path, loads):
    from scanfixtures import make_merged_xlsx

    text = XlsxReader().extract(make_merged_xlsx(tmp_path)).text
    assert len(loads) == 1 and "安家补贴" in text and "万元" in text


# ------------------------------------------------------------------ R3-4: what OCR renders is bounded first
@pytest.fixture
def renders(monkeypatch) -> list[int]:
    """The pixel bound of every page OCR renders; a render over 2 million pixels is refused here (the old
    reader rendered each 14,400 pt page at 50 million: 28 s and +1.1 GB for three of them)."""
    from retrieval.readers import _pdfscan

    real, seen = _pdfscan.render, []

    def render(doc, index, dpi, max_pixels):
        seen.append(max_pixels)
        if max_pixels > 2_000_000:
            raise AssertionError(f"page {index + 1} rendered at up to {max_pixels:,} pixels")
        return real(doc, index, dpi, max_pixels)

    monkeypatch.setattr(_pdfscan, "render", render)
    return seen


def test_huge_pages_whose_only_image_is_tiny_are_not_rendered(tmp_path, renders):
    from retrieval.readers._pdf import PdfReader

    path = huge_pages_pdf(tmp_path / "tiny.pdf", 3, 4)
    assert path.stat().st_size < 4000
    with pytest.raises(DocumentError):  # nothing to read: no text
        PdfReader().extract(path)
    assert renders == []


def test_ocr_pixels_per_document_are_counted_before_the_first_render(tmp_path, renders):
    from retrieval.readers import ReadLimits
    from retrieval.readers._pdf import PdfReader

    path = huge_pages_pdf(tmp_path / "three.pdf", 3, 300)
    with pytest.raises(DocumentError, match=r"rendered at 3,000,000 pixels for OCR; at most 2,500,000 are "
                                            r"rendered per document \(PA_OCR_MAX_PIXELS_PER_DOCUMENT\)"):
        PdfReader().extract(path, ReadLimits(ocr_max_pixels_per_document=2_500_000))
    assert renders == []


def test_a_page_of_one_small_image_is_rendered_no_finer_than_the_image_needs(tmp_path, renders):
    from retrieval.readers._pdf import PdfReader
    from retrieval.readers._pdfscan import MIN_OCR_PIXELS

    path = huge_pages_pdf(tmp_path / "one.pdf", 1, 300)
    try:
        PdfReader().extract(path)
    except DocumentError:
        pass  # noise holds no text
    assert renders == [MIN_OCR_PIXELS]  # not 50 million (PA_MAX_IMAGE_PIXELS)
