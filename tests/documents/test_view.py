"""The original document opened at a cited place: GET /v1/documents/{doc_id}/view?passage=ID (HTML) and the
page images beside it, over real HTTP in-process (TestClient). INVENTED documents."""
from __future__ import annotations

import re
from urllib.parse import quote

import docfixtures as fx
import pytest
import scanfixtures as sf
from docfixtures import private_index, require_cjk_font
from fastapi.testclient import TestClient

from api.app import create_app
from assistant.core import Assistant
from assistant.library.documents import add_documents

from scanfixtures import TOKEN

HOSTILE = """测试市网页内容管理办法
（测试用虚构文件）
第一条 页面中的<script>alert("x")</script>不得执行，<img src=x onerror=alert(1)>也不得加载。
第二条 **粗体**、[链接](javascript:alert(2)) 与 # 标题 均按原文显示，补贴标准为每家企业10万元。
"""


def _client(settings):
    app = create_app(settings, assistant=Assistant.from_settings(settings, build=False), ui=False)
    return TestClient(app)


@pytest.fixture(scope="module")
def scans(scan_library):
    with _client(scan_library.settings) as client:
        yield client, Assistant.from_settings(scan_library.settings, build=False)


def _cited(html: str) -> str:
    m = re.search(r'<mark class="pa-psg pa-cited" id="pa-cited" data-passage-id="([^"]+)">(.*?)</mark>', html, re.S)
    assert m, html[:2000]
    return m.group(2)


def test_view_of_a_scan_highlights_the_cited_passage_beside_its_page_image(scans, scan_library):
    client, a = scans
    answer = a.ask(sf.SCAN_Q)
    cited = answer.citations[0]
    r = client.get(cited.view_url)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    html = r.text
    assert "每家企业每年奖励金额最高80万元" in _cited(html)
    assert html.count('class="pa-cited"') + html.count("pa-psg pa-cited") == 1
    assert '<div class="pa-page" id="page-1">第1页</div>' in html and 'id="page-2">第2页</div>' in html
    assert f"<h1>{sf.SCAN_TITLE}</h1>" in html  # the title as the page's heading
    assert "OCR识别" in html
    doc = quote(scan_library.doc_ids["scan"], safe="")
    assert f'<img src="/v1/documents/{doc}/pages/2"' in html
    box = re.search(r'class="pa-box" style="left:([\d.]+)%;top:([\d.]+)%;width:([\d.]+)%;height:([\d.]+)%"', html)
    assert box and 0 < float(box.group(3)) <= 100 and float(box.group(2)) < 50
    csp = r.headers["content-security-policy"]
    nonce = re.search(r"'nonce-([^']+)'", csp).group(1)
    assert f'<script nonce="{nonce}">' in html and "default-src 'none'" in csp
    png = client.get(f"/v1/documents/{doc}/pages/2")
    assert png.status_code == 200 and png.headers["content-type"] == "image/png" and png.content[:8] == b"\x89PNG\r\n\x1a\n"
    assert client.get(f"/v1/documents/{doc}/pages/3").status_code == 404


def test_view_of_a_table_row_marks_the_row_under_its_header(scans, scan_library):
    client, a = scans
    row = next(c for c in a.ask(sf.TABLE_Q).citations if c.doc_id == scan_library.doc_ids["table"])
    html = client.get(row.view_url).text
    assert "<th>支持类型</th><th>支持标准（万元）</th><th>备注</th>" in html
    m = re.search(r'<tr data-passage-id="[^"]+" class="pa-cited" id="pa-cited">(.*?)</tr>', html)
    assert m and m.group(1) == "<td>首次认定奖励</td><td>30</td><td>一次性</td>"


def test_view_answers_404_for_what_is_not_there_and_never_serves_a_path(scans, scan_library):
    client, a = scans
    scan_id = scan_library.doc_ids["scan"]
    other = a.ask(sf.TABLE_Q).citations[0].passage_id
    assert client.get(f"/v1/documents/{quote(scan_id, safe='')}/view", params={"passage": other}).status_code == 404
    assert client.get(f"/v1/documents/{quote(scan_id, safe='')}/view", params={"passage": "x:000"}).status_code == 404
    for hostile in ("..%2F..%2Fetc%2Fpasswd", "%2Fetc%2Fpasswd", "corpus%2F..%2F..%2Fdata", "..", "plan.txt"):
        r = client.get(f"/v1/documents/{hostile}/view")
        assert r.status_code == 404, (hostile, r.status_code)
        assert "root:" not in r.text
        assert client.get(f"/v1/documents/{hostile}/pages/1").status_code == 404
    whole = client.get(f"/v1/documents/{quote(scan_id, safe='')}/view")  # no passage: the document, nothing marked
    assert whole.status_code == 200 and 'id="pa-cited"' not in whole.text and "80万元" in whole.text


@pytest.fixture(scope="module")
def web_library(built_settings, tmp_path_factory):
    """A library with a document full of markup and a text-layer PDF."""
    require_cjk_font()
    root = tmp_path_factory.mktemp("view")
    settings = private_index(built_settings, root / "lib", admin_token=TOKEN)
    src = root / "in"
    src.mkdir()
    page = src / "网页办法.txt"
    page.write_text(HOSTILE, encoding="utf-8")
    pdf = fx.make_text_pdf(src, pages=3)
    add_documents(settings, [page, pdf])
    with _client(settings) as client:
        yield client, Assistant.from_settings(settings, build=False), settings


def test_document_text_is_shown_as_text_never_as_markup(web_library):
    client, a, _settings = web_library
    hit = next(h for h in a.search("补贴标准为每家企业10万元", 5) if h.passage.doc_id == "网页办法")
    html = client.get(f"/v1/documents/{quote('网页办法')}/view", params={"passage": hit.id}).text
    assert "<script>alert" not in html and "<img src=x" not in html and "javascript:alert(2)" not in html.replace(
        "[链接](javascript:alert(2))", "")
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "**粗体**、[链接](javascript:alert(2))" in _cited(html)
    assert len(re.findall(r"<script", html)) == 1  # only the page's own (nonce) script


def test_view_of_a_text_layer_pdf_boxes_the_passage_on_its_page(web_library):
    client, a, _settings = web_library
    hit = next(h for h in a.search("页面标记P2 技术合同登记额度", 5) if "页面标记P2" in h.passage.text)
    assert hit.passage.meta["page"] == 2 and "bbox" not in hit.passage.meta and "ocr" not in hit.passage.meta
    html = client.get(f"/v1/documents/{quote(hit.passage.doc_id)}/view", params={"passage": hit.id}).text
    assert "第2页的条款" in _cited(html)  # the article's first line is the scroll target
    assert html.count('id="pa-cited"') == 1
    assert re.search(r'<mark class="pa-psg pa-cited" data-passage-id="[^"]+">页面标记P2', html)  # and its second
    assert re.search(r'<figure class="pa-scan" data-page="2"><img src="[^"]+/pages/2"', html)
    assert 'class="pa-box"' in html  # found in the text layer with PDFium


def test_view_falls_back_to_the_indexed_passages_when_the_file_is_gone(web_library):
    client, a, settings = web_library
    hit = next(h for h in a.search("补贴标准为每家企业10万元", 5) if h.passage.doc_id == "网页办法")
    moved = settings.corpus_dir / "网页办法.txt"
    aside = settings.corpus_dir.parent / "网页办法.txt.aside"
    moved.rename(aside)
    try:
        html = client.get(f"/v1/documents/{quote('网页办法')}/view", params={"passage": hit.id}).text
    finally:
        aside.rename(moved)
    assert "原文件" in html and "10万元" in _cited(html)
