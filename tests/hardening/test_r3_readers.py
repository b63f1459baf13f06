"""Third hardening round, R3-3 and R3-4: readers bound their work before they start.

R3-3  A 1.5 KB .xlsx whose sheet merges `A1:J100000` (or `A1:XFD1048576`, 17 billion cells) was loaded
      first and refused after (16 s, +240 MB that stayed; the larger one would take all memory). Now the
      sheet XML is read as a stream and the workbook refused naming the sheet and the merge before
      openpyxl loads anything: the test's openpyxl.load_workbook refuses to run for such a file, so the
      old order fails here without doing the expensive work. An honest merged workbook still reads.
R3-4  (see the OCR tests below) a PDF of huge pages drawing a tiny image is not rendered at all.

Speed and memory are measured by `python -m evals hardening-bench` (scenarios r3-xlsx, r3-pdf).
"""
from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

import pytest

from retrieval.errors import DocumentError
from retrieval.readers._xlsx import XlsxReader


def xlsx_with(path: Path, sheet_xml_edit) -> Path:
    """A real one-sheet workbook (openpyxl), its sheet XML then edited the way an attacker would."""
    from openpyxl import Workbook

    wb = Workbook()
    wb.active["A1"] = "测试市人才奖补标准（测试用虚构文件）"
    wb.active["A2"] = "安家补贴"
    buf = io.BytesIO()
    wb.save(buf)
    with zipfile.ZipFile(buf) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                data = sheet_xml_edit(data.decode()).encode()
            out.writestr(info, data)
    return path


def merging(ref: str):
    return lambda xml: xml.replace("</sheetData>", f'</sheetData><mergeCells count="1"><mergeCell ref="{ref}"/>'
                                                   "</mergeCells>")


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
    path = xlsx_with(tmp_path / "merged.xlsx", merging(ref))
    assert path.stat().st_size < 8000  # a few KB
    with pytest.raises(DocumentError) as caught:
        XlsxReader().extract(path)
    assert f"sheet1.xml merges {cells} cells (the largest merge {ref})" in str(caught.value)
    assert "at most 500,000" in str(caught.value) and loads == []


def test_an_xlsx_whose_cells_span_too_far_is_refused_before_it_is_loaded(tmp_path, loads):
    far = xlsx_with(tmp_path / "far.xlsx", lambda xml: xml.replace(
        "</sheetData>", '<row r="900000"><c r="AZ900000" t="inlineStr"><is><t>远</t></is></c></row></sheetData>'))
    with pytest.raises(DocumentError, match=r"spans 46,800,000 cells \(sheet1.xml: 900,000 rows x 52 columns\)"):
        XlsxReader().extract(far)
    assert loads == []


def test_an_honest_merged_workbook_still_reads(tmp_path, loads):
    from scanfixtures import make_merged_xlsx

    text = XlsxReader().extract(make_merged_xlsx(tmp_path)).text
    assert len(loads) == 1 and "安家补贴" in text and "万元" in text
