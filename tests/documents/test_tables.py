"""Tables as agencies publish them: a ruled table in a PDF (pdfplumber) and Excel sheets with merged cells
(openpyxl), each row a passage carrying its header and unit. INVENTED documents (tests/scanfixtures.py)."""
from __future__ import annotations

import io
import zipfile

import pytest
import scanfixtures as sf
from docfixtures import require_cjk_font

from assistant.core import Assistant
from assistant.errors import DocumentError
from retrieval.ingest.documents import load_document
from retrieval.readers import PdfReader, XlsxReader
from retrieval.readers._pdfscan import fill_merged
from retrieval.ingest.segment import segment


def _rows(doc) -> list[tuple[str, int | None]]:
    return [(p.text, p.meta.get("page")) for p in segment(doc) if p.kind == "table_row"]


def test_a_ruled_pdf_table_is_one_row_per_line_with_header_and_unit(tmp_path):
    require_cjk_font()
    path = sf.make_ruled_table_pdf(tmp_path)
    text = PdfReader().read(path)
    # the header row, TAB-separated; the unit line above the table went into its numeric column
    assert "支持类型\t支持标准（万元）\t备注" in text.split("\n") and "单位：万元" not in text
    assert text.count("支持类型\t") == 1
    rows = dict(_rows(load_document(path)))
    assert rows["首次认定奖励：支持标准 30万元；备注 一次性"] == 1
    assert rows["研发后补助：支持标准 最高200万元；备注 按增量核定"] == 1
    # the table goes on over the page break without its header: those rows keep the header and unit
    assert rows["专利导航补助：支持标准 15万元；备注 每项"] == 2
    assert len(rows) == len(sf.TABLE_ROWS)
    assert not any("- 1 -" in r or "- 2 -" in r for r in rows)  # page numbers are not rows


def test_an_xlsx_sheet_with_merged_cells_gives_rows_with_their_category(tmp_path):
    path = sf.make_merged_xlsx(tmp_path)
    text = XlsxReader().read(path)
    lines = text.split("\n")
    assert lines[:2] == [sf.XLSX_TITLE, "人才类别\t学历\t安家补贴（万元）"]  # the unit row went into the header
    assert "全职引进\t硕士研究生\t6" in lines  # the category merged down two rows is in both
    doc = load_document(path)
    rows = [t for t, _page in _rows(doc)]
    assert "全职引进：学历 博士研究生；安家补贴 15万元" in rows
    assert "全职引进：学历 硕士研究生；安家补贴 6万元" in rows
    assert "青年科技人才：每月补贴 1500元" in rows  # the second sheet, its unit from the header
    assert doc.title == sf.XLSX_TITLE


def test_merged_table_cells_are_filled():
    assert fill_merged([["类别", None, "备注"], ["研发", "10", None], [None, "20", "年度"]]) == [
        ["类别", "类别", "备注"], ["研发", "10", "备注"], ["研发", "20", "年度"]]


def test_table_questions_are_answered_from_the_row_with_its_column_and_unit(scan_library):
    a = Assistant.from_settings(scan_library.settings, build=False)
    answer = a.ask(sf.TABLE_Q)
    assert answer.answerable, answer.notices
    row = next(c for c in answer.citations if c.doc_id == scan_library.doc_ids["table"])
    assert row.text == "首次认定奖励：支持标准 30万元；备注 一次性"
    assert "支持标准 30万元" in answer.answer
    answer = a.ask(sf.XLSX_Q)
    assert answer.answerable, answer.notices
    assert any(c.doc_id == scan_library.doc_ids["xlsx"] and "博士研究生；安家补贴 15万元" in c.text
               for c in answer.citations)
    assert "安家补贴 15万元" in answer.answer


def test_broken_and_oversized_workbooks_are_refused_naming_the_file(tmp_path):
    broken = tmp_path / "坏表.xlsx"
    broken.write_bytes(b"PK\x03\x04" + bytes(range(256)) * 4)
    with pytest.raises(DocumentError) as e:
        load_document(broken)
    assert str(broken) in str(e.value) and ".xlsx" in e.value.reason

    word = tmp_path / "其实是Word.xlsx"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("word/document.xml", "<w:document/>")
    word.write_bytes(buf.getvalue())
    with pytest.raises(DocumentError) as e:
        load_document(word)
    assert "a Word document (.docx), not an Excel workbook" in e.value.reason

    bomb = tmp_path / "炸弹.xlsx"
    good = sf.make_merged_xlsx(tmp_path)
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as zf:
        for info in src.infolist():
            zf.writestr(info.filename, src.read(info))
        zf.writestr("xl/media/blank.bin", b"\0" * (4 * 1024 * 1024))  # ~1000-fold
    with pytest.raises(DocumentError) as e:
        load_document(bomb)
    assert "PA_MAX_DOCX_COMPRESSION_RATIO" in e.value.reason and "xl/media/blank.bin" in e.value.reason
