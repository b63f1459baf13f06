"""Readers: every format -> segmenter text (lines; TAB rows for tables, header first; `\\f` between PDF pages).

All documents are INVENTED fixtures written at test time (tests/docfixtures.py).
"""
from __future__ import annotations

import zipfile
from pathlib import Path

import docfixtures as fx
import pytest

import assistant  # noqa: F401  (assistant first, as elsewhere in tests/retrieval)
from assistant.errors import DocumentError
from retrieval import readers
from retrieval.ingest.documents import (
    META_SUFFIXES,
    READERS,
    Document,
    TextReader,
    iter_corpus,
    load_document,
)
from retrieval.readers import (
    NO_TEXT_LAYER,
    DocxReader,
    Extracted,
    HtmlReader,
    MarkdownReader,
    PdfReader,
    markdown_to_text,
    sniff,
)
from retrieval.ingest.segment import segment


def tab_rows(text: str) -> list[list[str]]:
    return [line.split("\t") for line in text.splitlines() if "\t" in line]


def line_index(lines: list[str], needle: str) -> int:
    return next(i for i, line in enumerate(lines) if needle in line)


@pytest.fixture
def cjk_font():
    return fx.require_cjk_font()


# ----------------------------------------------------------------------------- the reader protocol


def test_every_reader_has_a_name_suffixes_and_read():
    names = [r.name for r in READERS]
    assert len(set(names)) == len(names)
    for r in READERS:
        assert isinstance(r, readers.Reader)
        assert r.suffixes and all(s.startswith(".") and s == s.lower() for s in r.suffixes)
    supported = readers.supported_suffixes()
    for suffix in (".txt", ".md", ".html", ".htm", ".docx", ".pdf", ".xlsx", ".png", ".jpg", ".jpeg"):
        assert suffix in supported
    assert ".meta.yaml" in META_SUFFIXES and ".meta.yml" in META_SUFFIXES and ".meta.json" in META_SUFFIXES


def test_text_reader_is_still_importable_from_documents_and_reads_str(tmp_path):
    path = fx.make_txt(tmp_path)
    text = TextReader().read(path)
    assert isinstance(text, str)
    assert text == path.read_text(encoding="utf-8")


# ----------------------------------------------------------------------------- text and Markdown


def test_gb18030_and_bom_text_decode(tmp_path):
    gb = fx.make_txt(tmp_path, name="gb.txt", encoding="gb18030")
    utf = fx.make_txt(tmp_path, name="utf.txt")
    bom = tmp_path / "bom.txt"
    bom.write_bytes(b"\xef\xbb\xbf" + utf.read_bytes())
    assert TextReader().read(gb) == TextReader().read(utf) == TextReader().read(bom)
    assert fx.TXT_TITLE in TextReader().read(gb)


def test_utf16_text_with_bom(tmp_path):
    path = tmp_path / "utf16.txt"
    path.write_bytes("测试用虚构文件：第一条 内容。\n".encode("utf-16"))
    assert sniff(path) == "text"
    assert load_document(path).text == "测试用虚构文件：第一条 内容。\n"


def test_text_keeps_tabs_and_form_feeds_as_they_are(tmp_path):
    # .txt is the segmenter's own format: TAB rows and \f page breaks pass through untouched
    text = "第一页\n指标\t2020年\t2025年\n数量\t1\t2\n\f第二页\n"
    path = fx.make_txt(tmp_path, text=text)
    assert TextReader().read(path) == text


def test_markdown_headings_tables_and_markup(tmp_path):
    path = fx.make_markdown(tmp_path)
    text = MarkdownReader().read(path)
    lines = text.splitlines()
    assert lines[0] == fx.MD_TITLE  # `# ` dropped
    assert "第一章 总则" in lines and "第二章 补助标准" in lines
    assert not any(line.lstrip().startswith("#") for line in lines)
    assert not any(set(line.replace("\t", "")) <= set("|-: ") and line for line in lines)  # no |---| line
    rows = tab_rows(text)
    assert rows == [["企业类型", "补助比例", "上限（万元）"], ["科技型中小企业", "10%", "50"], ["高新技术企业", "15%", "100"]]
    assert "第二条 本细则适用于测试市注册的科技型企业，详见政策解读。" in lines  # bold and link text kept
    assert "第三条 补助资金按年度拨付。" in lines  # the list marker is gone
    assert "|" not in text and "**" not in text


def test_markdown_edge_cases():
    md = "标题 ##\n\n```\n代码\t块\n```\n\n> 引用内容\n\n---\n\n|a|b|\n|---|---|\n|x \\| y|z|\n"
    text = markdown_to_text(md)
    assert "代码 块" in text.splitlines()  # no TAB outside tables
    assert "引用内容" in text.splitlines()
    assert tab_rows(text) == [["a", "b"], ["x | y", "z"]]


# ----------------------------------------------------------------------------- HTML


def test_html_keeps_the_article_and_drops_navigation_and_footer(tmp_path):
    got = HtmlReader().extract(fx.make_html_page(tmp_path))
    text = got.text
    assert fx.HTML_CLAUSE in text.splitlines()
    assert "测科发〔2023〕15号" in text
    for word in fx.NAV_WORDS:
        assert word not in text, word
    for word in ("政务公开", "相关链接", "热点专题", "备案号", "打印本页", "统计代码", "当前位置"):
        assert word not in text, word
    # clauses in order, one per line
    lines = text.splitlines()
    assert [line_index(lines, f"第{n}条") for n in "一二三四五六"] == sorted(line_index(lines, f"第{n}条") for n in "一二三四五六")


def test_html_table_becomes_tab_rows_header_first(tmp_path):
    text = HtmlReader().read(fx.make_html_page(tmp_path))
    rows = tab_rows(text)
    assert rows[0] == ["支持类型", "支持标准（万元）", "备注"]  # unit stays in the header cell
    assert ["首次认定奖励", "20", "一次性"] in rows
    assert ["研发后补助", "最高200", "按研发投入增量核定"] in rows
    lines = text.splitlines()
    assert line_index(lines, "第六条") < line_index(lines, "支持类型") < line_index(lines, "2023年6月15日")


def test_html_title_from_the_page_title_without_the_site_name(tmp_path):
    got = HtmlReader().extract(fx.make_html_page(tmp_path))
    assert got.title == "测试市科学技术局关于印发《测试市高新技术企业培育若干措施》的通知"


def test_html_declared_gb2312_is_decoded(tmp_path):
    path = fx.make_html_page(tmp_path, encoding="gb2312")
    raw = path.read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    assert fx.HTML_CLAUSE in HtmlReader().read(path)


def test_html_labelled_fields_outside_the_article_are_hints(tmp_path):
    page = fx.make_html_page(tmp_path)
    html = page.read_text(encoding="utf-8").replace(
        '<div class="content">',
        '<div class="content"><table class="info"><tr><td>索引号：</td><td>000000/2023-00015</td>'
        '<td>发文机关：</td><td>测试市科学技术局</td></tr><tr><td>发文字号：</td><td>测科发〔2023〕15号</td>'
        '<td>成文日期：</td><td>2023-06-15</td></tr></table>')
    page.write_text(html, encoding="utf-8")
    hints = HtmlReader().extract(page).hints
    assert hints["doc_number"] == "测科发〔2023〕15号"
    assert hints["issued"] == "2023-06-15"
    assert hints["issuer"] == "测试市科学技术局"


def test_html_without_an_article_falls_back_to_the_page_minus_navigation(tmp_path, monkeypatch):
    import trafilatura

    monkeypatch.setattr(trafilatura, "extract", lambda *a, **k: None)
    text = HtmlReader().read(fx.make_html_page(tmp_path))
    assert fx.HTML_CLAUSE in text.splitlines()
    assert ["支持类型", "支持标准（万元）", "备注"] == tab_rows(text)[0]
    for word in ("网站地图", "版权所有", "机构概况", "相关链接", "当前位置"):
        assert word not in text, word


def test_html_fallback_keeps_an_article_header_and_separates_cell_paragraphs(tmp_path, monkeypatch):
    import trafilatura

    monkeypatch.setattr(trafilatura, "extract", lambda *a, **k: None)
    page = tmp_path / "p.html"
    page.write_text(
        "<html><head><title>测试市科学技术局</title></head><body><div class='top-nav'>首页 机构概况</div>"
        "<div class='article-header'><h1>测试市科技人才支持办法（测试）</h1></div>"
        "<div class='article-body'><p>第一条 为支持人才，制定本办法。</p>"
        "<table><tr><th>类别</th><th>标准</th></tr><tr><td><p>青年</p><p>人才</p></td><td>5万元</td></tr></table>"
        "</div><div id='footer'>网站地图</div></body></html>", encoding="utf-8")
    got = HtmlReader().extract(page)
    assert "测试市科技人才支持办法（测试）" in got.text.splitlines()
    assert "首页" not in got.text and "网站地图" not in got.text
    assert tab_rows(got.text) == [["类别", "标准"], ["青年 人才", "5万元"]]
    assert got.title == "测试市科技人才支持办法（测试）"  # the <title> only names the site: the h1 wins


def test_html_cell_with_paragraphs_gets_a_space(tmp_path):
    page = fx.make_html_page(tmp_path)
    html = page.read_text(encoding="utf-8").replace("<td>按研发投入增量核定</td>",
                                                    "<td><p>按研发投入</p><p>增量核定</p></td>")
    page.write_text(html, encoding="utf-8")
    rows = tab_rows(HtmlReader().read(page))
    assert ["研发后补助", "最高200", "按研发投入 增量核定"] in rows


def test_html_short_article_without_page_furniture(tmp_path):
    import re

    page = fx.make_html_page(tmp_path)
    html = re.sub(r"<p>现将.*?</p>", "", page.read_text(encoding="utf-8"), flags=re.DOTALL)
    html = re.sub(r"<h2>.*?</table>", "<p>第一条 本通知自印发之日起施行。</p>", html, flags=re.DOTALL)
    page.write_text(html, encoding="utf-8")
    text = HtmlReader().read(page)
    assert "第一条 本通知自印发之日起施行。" in text.splitlines()
    for word in ("无障碍浏览", "当前位置", "分享到", "打印本页", "网站地图"):
        assert word not in text, word


def test_html_layout_table_is_read_as_running_text(tmp_path):
    page = tmp_path / "old-site.html"
    page.write_text(
        "<html><head><title>测试市科学技术局</title></head><body><table width=100%>"
        "<tr><td class=menu><a href=/>首页</a> | <a href=/a>机构概况</a> | <a href=/b>政务公开</a></td></tr>"
        "<tr><td><table><tr><td width=200><a href=/1>链接一</a><br><a href=/2>链接二</a></td><td>"
        "<p><b>测试市科技项目管理办法（测试）</b></p><p>测科发〔2020〕1号</p>"
        "<p>第一条 为规范科技项目管理，制定本办法。</p><p>第二条 本办法适用于市级科技项目。</p>"
        "<p>第三条 本办法自2020年1月1日起施行。</p></td></tr></table></td></tr>"
        "<tr><td>版权所有 测试市科学技术局</td></tr></table></body></html>", encoding="utf-8")
    text = HtmlReader().read(page)
    lines = text.splitlines()
    assert "第二条 本办法适用于市级科技项目。" in lines
    assert "测科发〔2020〕1号" in lines
    assert tab_rows(text) == []  # the layout table is not a data table
    assert "版权所有" not in text and "政务公开" not in text


@pytest.mark.parametrize("line,furniture", [
    ("当前位置：首页 > 政务公开 > 政策文件", True),
    ("分享到：微信 微博 打印本页 关闭窗口", True),
    ("首页 | 机构概况 | 政务公开 | 互动交流", True),
    ("版权所有：测试市科学技术局 网站标识码：0000000000", True),
    ("第五条 对首次认定的高新技术企业，给予一次性奖励20万元。", False),
    ("测试市科学技术局", False),
    ("类别\t网站地图\t备注", False),  # a table row is never furniture
])
def test_is_furniture(line, furniture):
    assert readers.is_furniture(line) is furniture


def test_html_fragment_and_bom_are_accepted(tmp_path):
    frag = tmp_path / "frag.html"
    frag.write_text("<div><p>第一条 片段页面的条款内容，用于测试没有html标签的页面。</p></div>", encoding="utf-8")
    assert sniff(frag) == "text"
    doc = load_document(frag)
    assert "第一条 片段页面的条款内容" in doc.text
    bom = tmp_path / "bom.html"
    bom.write_bytes(b"\xef\xbb\xbf \n<!DOCTYPE HTML>" + fx.make_html_page(tmp_path).read_bytes().split(b"\n", 1)[1])
    assert sniff(bom) == "html"
    assert fx.HTML_CLAUSE in load_document(bom).text


# ----------------------------------------------------------------------------- Word


def test_docx_keeps_paragraph_and_table_order(tmp_path):
    text = DocxReader().read(fx.make_docx_with_subsidy_table(tmp_path))
    lines = [line for line in text.splitlines() if line]
    order = [line_index(lines, s) for s in ("测科发〔2023〕12号", fx.DOCX_TITLE, "第一章 总则", "第一条", "第二条",
                                            "第三条", "支持类型", "研发费用补助", "元/人/月", "第四条", "附件：", "2023年5月10日")]
    assert order == sorted(order)
    assert "第一章 总则" in lines and "第二章 支持标准" in lines  # heading styles are plain lines


def test_docx_table_rows_header_first_with_units(tmp_path):
    text = DocxReader().read(fx.make_docx_with_subsidy_table(tmp_path))
    rows = tab_rows(text)
    assert rows[0] == fx.SUBSIDY_HEADER
    assert ["首次认定高新技术企业奖励", "20", "万元"] in rows
    assert ["研发费用补助", "不超过实际投入的30", "%"] in rows
    assert ["青年科技人才 生活补贴", "1500", "元/人/月"] in rows  # a two-paragraph cell: joined by a space
    assert len(rows) == 1 + len(fx.SUBSIDY_ROWS)


def test_docx_tab_inside_a_paragraph_is_not_a_table_row(tmp_path):
    text = DocxReader().read(fx.make_docx_with_subsidy_table(tmp_path))
    assert "第二条 本办法所称创新券，是指测试市科技局向企业发放的电子凭证。" in text.splitlines()
    assert all(row[0] != "第二条" for row in tab_rows(text))


def test_docx_merged_cells_are_repeated(tmp_path):
    from docx import Document as Docx

    d = Docx()
    d.add_paragraph("合并单元格测试（测试用虚构文件）")
    t = d.add_table(rows=3, cols=3)
    for i, row in enumerate([["类别", "标准", "单位"], ["人才", "50", "万元"], ["团队", "100", "万元"]]):
        for j, v in enumerate(row):
            t.cell(i, j).text = v
    t.cell(1, 2).merge(t.cell(2, 2))  # 万元 spans two rows
    path = tmp_path / "merged.docx"
    d.save(path)
    rows = tab_rows(DocxReader().read(path))
    assert rows[0] == ["类别", "标准", "单位"]
    assert [r[0] for r in rows[1:]] == ["人才", "团队"]
    assert all(len(r) == 3 and r[2].startswith("万元") for r in rows[1:])


def test_docx_automatic_clause_numbering_is_written_out(tmp_path):
    lines = DocxReader().read(fx.make_docx_with_auto_numbering(tmp_path)).splitlines()
    assert "第一条 为规范项目管理，制定本规定。" in lines
    assert "第二条 本规定适用于市级科技计划项目。" in lines
    assert "第三条 本规定自2023年1月1日起施行。" in lines


def test_broken_docx_is_a_document_error(tmp_path):
    path = fx.make_broken_docx(tmp_path)
    with pytest.raises(DocumentError) as e:
        DocxReader().read(path)
    assert "not a valid .docx" in e.value.reason
    with pytest.raises(DocumentError) as e:
        load_document(path)
    assert e.value.path == str(path) and ".docx" in e.value.reason


def test_zip_that_is_not_word_is_reported(tmp_path):
    path = tmp_path / "表格.docx"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("xl/workbook.xml", "<workbook/>")
    assert sniff(path) == "xlsx"  # a workbook, read by the .xlsx reader: not under a .docx name
    with pytest.raises(DocumentError) as e:
        load_document(path)
    assert ".docx" in e.value.reason and "an Excel workbook (.xlsx), not a Word document" in e.value.reason


# ----------------------------------------------------------------------------- PDF


@pytest.mark.parametrize("pages", [1, 3, 4])
def test_pdf_pages_are_separated_by_form_feeds(tmp_path, cjk_font, pages):
    path = fx.make_text_pdf(tmp_path, pages=pages)
    got = PdfReader().extract(path)
    assert got.pages == pages
    assert got.text.count("\f") == pages - 1
    chunks = got.text.split("\f")
    for i, chunk in enumerate(chunks):
        assert f"页面标记P{i + 1}" in chunk
        assert f"第{i + 1}页的条款" in chunk
        for other in range(pages):
            if other != i:
                assert f"页面标记P{other + 1}" not in chunk
    # each page starts on a line of its own (never glued to the previous page's last line)
    assert all(c.startswith(("（测试用虚构文件）", "第")) for c in chunks)
    assert all(line == line.strip() for chunk in chunks for line in chunk.split("\n") if line)


def test_pdf_text_keeps_clause_lines(tmp_path, cjk_font):
    text = PdfReader().read(fx.make_text_pdf(tmp_path, pages=3))
    lines = [line.strip("\f") for line in text.splitlines()]
    assert fx.PDF_TITLE in lines
    assert "测科发〔2024〕3号" in lines
    assert any(line.startswith("第二条 ") for line in lines)


def test_scan_without_writing_is_no_text_even_by_ocr(tmp_path):
    """Pages that are an image of grey bars: no text layer, and OCR finds no writing either."""
    path = fx.make_scanned_pdf(tmp_path)
    with pytest.raises(DocumentError) as e:
        PdfReader().read(path)
    assert e.value.reason == NO_TEXT_LAYER
    assert "OCR" in str(e.value) and str(path) in str(e.value)
    with pytest.raises(DocumentError, match="OCR"):
        load_document(path)


def test_damaged_and_encrypted_pdfs_are_document_errors(tmp_path, cjk_font):
    good = fx.make_text_pdf(tmp_path)
    cut = tmp_path / "截断.pdf"
    cut.write_bytes(good.read_bytes()[:2000])
    with pytest.raises(DocumentError) as e:
        load_document(cut)
    assert "PDF" in e.value.reason

    header_only = tmp_path / "bad.pdf"
    header_only.write_bytes(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    with pytest.raises(DocumentError):
        load_document(header_only)

    from fpdf import FPDF
    from fpdf.enums import EncryptionMethod

    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("helvetica", size=12)
    pdf.cell(0, 10, "A password-protected PDF with a text layer that needs a password.")
    pdf.set_encryption(owner_password="owner", user_password="secret", encryption_method=EncryptionMethod.RC4)
    locked = tmp_path / "加密.pdf"
    pdf.output(str(locked))
    with pytest.raises(DocumentError) as e:
        load_document(locked)
    assert "encrypted" in e.value.reason


# ----------------------------------------------------------------------------- sniffing and names


def test_sniff_tells_the_formats_apart(tmp_path, cjk_font):
    assert sniff(fx.make_text_pdf(tmp_path)) == "pdf"
    assert sniff(fx.make_scanned_pdf(tmp_path)) == "pdf"
    assert sniff(fx.make_docx_with_subsidy_table(tmp_path)) == "docx"
    assert sniff(fx.make_html_page(tmp_path)) == "html"
    assert sniff(fx.make_markdown(tmp_path)) == "text"
    assert sniff(fx.make_txt(tmp_path)) == "text"
    assert sniff(fx.make_txt(tmp_path, name="gb.txt", encoding="gb18030")) == "text"
    assert sniff(fx.make_broken_docx(tmp_path)) == "unknown"
    assert sniff(fx.make_wrong_extension(tmp_path)) == "pdf"
    binary = tmp_path / "blob.bin"
    binary.write_bytes(bytes(range(256)) * 8)
    assert sniff(binary) == "unknown"
    upper = tmp_path / "upper.htm"
    upper.write_bytes(b"\n\n  <HTML><body><p>x</p></body></HTML>")
    assert sniff(upper) == "html"
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    assert sniff(empty) == "text"


def test_wrong_extension_names_both_types(tmp_path):
    path = fx.make_wrong_extension(tmp_path)
    with pytest.raises(DocumentError) as e:
        load_document(path)
    assert e.value.reason == "the content is a PDF but the name ends in .docx"


def test_html_saved_as_txt_and_binary_saved_as_txt(tmp_path):
    page = fx.make_html_page(tmp_path)
    as_txt = tmp_path / "page.txt"
    as_txt.write_bytes(page.read_bytes())
    with pytest.raises(DocumentError, match=r"HTML page but the name ends in \.txt"):
        load_document(as_txt)
    blob = tmp_path / "blob.txt"
    blob.write_bytes(b"\x00\x01\x02" * 100)
    with pytest.raises(DocumentError, match="not text"):
        load_document(blob)


def test_legacy_word_files_say_what_to_do(tmp_path):
    ole = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504
    renamed = tmp_path / "旧格式.docx"
    renamed.write_bytes(ole)
    with pytest.raises(DocumentError, match=r"old binary Office file .* save it as \.docx"):
        load_document(renamed)
    doc = tmp_path / "旧格式.doc"
    doc.write_bytes(ole)
    with pytest.raises(DocumentError, match=r"unsupported file type '\.doc'.*save it as \.docx"):
        load_document(doc)


def test_unsupported_extension_lists_the_supported_ones(tmp_path):
    path = tmp_path / "表格.xls"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 504)
    with pytest.raises(DocumentError) as e:
        load_document(path)
    assert "'.xls'" in e.value.reason and "save it as .xlsx first" in e.value.reason
    for suffix in (".txt", ".md", ".html", ".docx", ".pdf", ".xlsx", ".png", ".jpg"):
        assert suffix in e.value.reason


def test_a_reader_failing_unexpectedly_is_a_document_error(tmp_path, monkeypatch):
    path = fx.make_docx_with_subsidy_table(tmp_path)

    def boom(self, p, limits=None):
        raise RuntimeError("library bug")

    monkeypatch.setattr(DocxReader, "extract", boom)
    with pytest.raises(DocumentError, match="RuntimeError: library bug"):
        load_document(path)


def test_a_new_format_is_one_reader_and_one_register_call(tmp_path, monkeypatch):
    class Upper(readers.Reader):
        name = "upper"
        suffixes = (".up",)

        def extract(self, path: Path, limits=None) -> Extracted:
            return Extracted(text=Path(path).read_text(encoding="utf-8").upper())

    monkeypatch.setattr(readers, "READERS", list(readers.READERS))  # the registration ends with the test
    readers.register(Upper())
    p = tmp_path / "x.up"
    p.write_text("abc policy\n", encoding="utf-8")
    assert load_document(p).text == "ABC POLICY\n"
    assert ".up" in readers.supported_suffixes() and readers.reader_for(p).name == "upper"
    with pytest.raises(ValueError, match="clashes"):
        readers.register(Upper())
    with pytest.raises(TypeError):
        readers.register(object())


# ----------------------------------------------------------------------------- the corpus


@pytest.fixture
def mixed_corpus(tmp_path, cjk_font):
    good = {
        "docx": fx.make_docx_with_subsidy_table(tmp_path),
        "html": fx.make_html_page(tmp_path),
        "pdf": fx.make_text_pdf(tmp_path, pages=3),
        "md": fx.make_markdown(tmp_path),
        "txt": fx.make_txt(tmp_path),
    }
    bad = {
        fx.make_scanned_pdf(tmp_path): "OCR",
        fx.make_wrong_extension(tmp_path): "the content is a PDF but the name ends in .docx",
        fx.make_broken_docx(tmp_path): "not a valid .docx",
    }
    xls = tmp_path / "统计表.xls"
    xls.write_bytes(b"\xd0\xcf\x11\xe0" + b"\x00" * 100)
    bad[xls] = "unsupported file type"
    (tmp_path / "~$创新券管理办法.docx").write_bytes(b"lock")  # Word's lock file: skipped
    (tmp_path / ".hidden.txt").write_text("隐藏文件", encoding="utf-8")
    return tmp_path, good, bad


def test_iter_corpus_loads_the_good_and_reports_each_bad_file(mixed_corpus):
    root, good, bad = mixed_corpus
    docs, errors = iter_corpus(root)
    assert sorted(Path(d.path).name for d in docs) == sorted(p.name for p in good.values())
    assert len({d.doc_id for d in docs}) == len(docs)  # Chinese file names give distinct ids
    assert all(isinstance(d, Document) and d.text.strip() for d in docs)
    reported = {Path(e.path).name: e.reason for e in errors}
    assert set(reported) == {p.name for p in bad}, reported
    for path, reason in bad.items():
        assert reason in reported[path.name], (path.name, reported[path.name])
    assert all(isinstance(e, DocumentError) for e in errors)


def test_iter_corpus_survives_any_reader_exception(mixed_corpus, monkeypatch):
    root, good, _bad = mixed_corpus

    def boom(self, p, limits=None):
        raise MemoryError("simulated")

    monkeypatch.setattr(HtmlReader, "extract", boom)
    docs, errors = iter_corpus(root)
    assert good["html"].name in {Path(e.path).name for e in errors}
    assert good["docx"].name in {Path(d.path).name for d in docs}


def test_every_good_document_segments_into_passages(mixed_corpus):
    root, good, _bad = mixed_corpus
    docs, _errors = iter_corpus(root)
    by_name = {Path(d.path).name: d for d in docs}
    for kind, path in good.items():
        passages = segment(by_name[path.name])
        assert passages, kind
    rows = [p for p in segment(by_name[good["docx"].name]) if p.kind == "table_row"]
    assert any("元/人/月" in p.text and "1500" in p.text for p in rows), [p.text for p in rows]
    html_rows = [p for p in segment(by_name[good["html"].name]) if p.kind == "table_row"]
    assert any("首次认定奖励" in p.text and "20" in p.text for p in html_rows)


def test_extracted_is_a_small_dataclass():
    e = Extracted("x")
    assert e.text == "x" and e.title is None and e.pages is None and e.hints is None
