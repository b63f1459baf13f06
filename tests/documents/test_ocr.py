"""Scanned PDFs and photos read by OCR (RapidOCR with the models inside its wheel), on INVENTED documents
rendered at test time with a CJK font (tests/scanfixtures.py): no text layer anywhere."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path
from urllib.parse import quote

import pytest
import scanfixtures as sf
from docfixtures import require_cjk_font

from assistant.core import Assistant
from assistant.errors import DocumentError
from retrieval.readers import ImageReader, PdfReader, ReadLimits, reading_progress
from retrieval.readers import _ocr, _pdfscan
from retrieval.readers._layout import Piece, lay_out

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def scanned(tmp_path_factory) -> Path:
    require_cjk_font()
    return sf.make_scanned_policy(tmp_path_factory.mktemp("scan"))


@pytest.fixture(scope="module")
def cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("ocr-cache")


def test_a_pdf_of_page_images_is_read_by_ocr_into_paragraphs(scanned, cache):
    assert not PdfReader().extract(scanned, ReadLimits(ocr_cache_dir=cache)).warnings
    got = PdfReader().extract(scanned, ReadLimits(ocr_cache_dir=cache))
    assert got.pages == 2 and got.ocr_pages == (1, 2)
    page1, page2 = got.text.split("\f")
    lines1 = [line for line in page1.split("\n") if line]
    # the first clause is printed over three lines: laid out again as one paragraph, as typed (第一条 + space)
    first = next(line for line in lines1 if line.startswith("第一条"))
    assert first.startswith("第一条 为鼓励测试市企业研制首台套重大技术装备") and first.endswith("制定本办法。")
    assert any(line.startswith("第二条 ") for line in lines1)
    assert "每家企业每年奖励金额最高80万元" in page2 and "第一条" not in page2
    # every line keeps its box on the page (fractions), in reading order
    boxes = [s.box for s in got.layout[2]]
    assert all(0 <= x0 < x1 <= 1 and 0 <= y0 < y1 <= 1 for x0, y0, x1, y1 in boxes)
    assert [b[1] for b in boxes] == sorted(b[1] for b in boxes)


def test_ocr_results_are_cached_by_content(scanned, cache, monkeypatch):
    PdfReader().extract(scanned, ReadLimits(ocr_cache_dir=cache))  # filled (or already there)

    def no_engine(image):
        raise AssertionError("recognised again although the cache has this page")

    monkeypatch.setattr(_ocr, "recognise", no_engine)
    assert "80万元" in PdfReader().extract(scanned, ReadLimits(ocr_cache_dir=cache)).text


def test_a_page_that_fails_ocr_is_reported_and_the_rest_read(scanned, cache, tmp_path, monkeypatch):
    PdfReader().extract(scanned, ReadLimits(ocr_cache_dir=cache))
    partial = tmp_path / "cache"  # page 2 from the cache, page 1 to be rendered again
    partial.mkdir()
    for entry in cache.iterdir():
        if "-p1-" not in entry.name:
            (partial / entry.name).write_bytes(entry.read_bytes())
    real = _pdfscan.render

    def broken_first_page(doc, index, dpi, max_pixels):
        if index == 0:
            raise RuntimeError("simulated scanner garbage")
        return real(doc, index, dpi, max_pixels)

    monkeypatch.setattr(_pdfscan, "render", broken_first_page)
    got = PdfReader().extract(scanned, ReadLimits(ocr_cache_dir=partial))
    assert got.ocr_pages == (2,)
    assert got.warnings == ["page 1: OCR failed (RuntimeError: simulated scanner garbage)"]
    assert "80万元" in got.text


def test_ocr_time_is_limited_and_progress_reported(scanned, cache, monkeypatch):
    seen = []
    with reading_progress(lambda name, done, total: seen.append((name, done, total))):
        PdfReader().extract(scanned, ReadLimits(ocr_cache_dir=cache))
    assert seen == [(scanned.name, 1, 2), (scanned.name, 2, 2)]

    monkeypatch.setattr(_ocr, "recognise", lambda image: __import__("time").sleep(0.4) or [])
    with pytest.raises(DocumentError) as e:
        PdfReader().extract(scanned, ReadLimits(ocr_timeout_seconds=0.2))
    assert str(scanned) in str(e.value) and "PA_OCR_TIMEOUT_SECONDS" in e.value.reason
    assert "stopped before page 2 of 2" in e.value.reason


def test_a_photo_is_read_by_ocr(tmp_path):
    require_cjk_font()
    got = ImageReader().extract(sf.make_photo(tmp_path))
    assert got.ocr_pages == (1,) and len(got.layout[1]) >= 3
    assert "每人每月给予生活补贴2000元" in got.text
    assert sf.PHOTO_TITLE in got.text.split("\n")


def test_the_bundled_models_load_without_any_network(tmp_path):
    """In a fresh process whose every socket connection fails, the engine loads and reads an image."""
    require_cjk_font()
    image = sf.make_photo(tmp_path)
    script = textwrap.dedent(f"""
        import socket
        def refuse(*a, **k):
            raise OSError("network used")
        socket.socket.connect = refuse
        socket.create_connection = refuse
        from retrieval.readers import _ocr
        models = _ocr._bundled_models()
        import rapidocr, pathlib
        assert all(pathlib.Path(rapidocr.__file__).parent in p.parents for p in models.values()), models
        from PIL import Image
        pieces = _ocr.recognise(Image.open({str(image)!r}))
        print("".join(p.text for p in pieces))
    """)
    env = {**os.environ, "PYTHONPATH": str(REPO), "HTTP_PROXY": "http://127.0.0.9:9", "HTTPS_PROXY": "http://127.0.0.9:9"}
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "2000元" in run.stdout


def test_scanned_policy_answers_with_the_right_page(scan_library):
    a = Assistant.from_settings(scan_library.settings, build=False)
    answer = a.ask(sf.SCAN_Q)
    assert answer.answerable, answer.notices
    first = answer.citations[0]
    assert first.doc_id == scan_library.doc_ids["scan"]
    assert sf.SCAN_FIGURE in first.text and sf.SCAN_FIGURE in answer.answer
    assert first.meta["page"] == sf.SCAN_FIGURE_PAGE and first.meta["ocr"] is True
    assert first.view_url == f"/v1/documents/{quote(first.doc_id, safe='')}/view?passage={quote(first.passage_id, safe='')}"
    passage = a.passage(first.passage_id)
    x0, y0, x1, y1 = (float(v) for v in passage.meta["bbox"].split(","))
    assert 0 <= x0 < x1 <= 1 and 0 <= y0 < y1 <= 0.5  # the clause is in the top half of page 2


# ---------------------------------------------------------------- layout (no OCR)


def _line(text, x0, y0, x1, h=20.0):
    return Piece(text, x0, y0, x1, y0 + h)


def test_layout_joins_a_paragraph_and_keeps_indented_starts_and_items():
    pieces = [
        _line("　　第一条 为支持企业研发，根据有关规定，结合本", 140, 100, 900),  # indented first line, runs to the margin
        _line("市实际，制定本办法。", 100, 136, 400),  # continues at the left margin
        _line("　　第二条 本办法自2024年1月1日起施行。", 140, 172, 700),
        _line("一、总体要求", 100, 208, 300),
        _line("项目", 100, 260, 180), _line("金额", 600, 260, 680),  # two rows of separate cells: a table
        _line("首次认定", 100, 296, 260), _line("30万元", 600, 296, 720),
    ]
    spans = lay_out(pieces, 1000, 1400)
    assert [s.text for s in spans] == ["第一条 为支持企业研发，根据有关规定，结合本市实际，制定本办法。",
                                       "第二条 本办法自2024年1月1日起施行。", "一、总体要求", "项目\t金额", "首次认定\t30万元"]
    assert spans[0].box == pytest.approx((0.1, 100 / 1400, 0.9, 156 / 1400))


def test_layout_reads_a_slightly_rotated_line_as_one_row():
    # the bounding box of a rotated line is taller than the line: its own height decides the row
    pieces = [Piece("第一段文字内容较长", 100, 100, 900, 150, h=20), Piece("第二段", 140, 160, 300, 182, h=20),
              Piece("同一行的后半", 320, 150, 600, 194, h=20)]  # its box overlaps the first's: rows by their centres
    assert [s.text for s in lay_out(pieces, 1000, 1000)] == ["第一段文字内容较长", "第二段同一行的后半"]


def test_the_benchmark_document_is_a_scan_and_its_text_layer_twin(tmp_path):
    require_cjk_font()
    from evals.benchmarks.scanned import make_scanned_pages, scanned_pages_text

    scan, text = make_scanned_pages(tmp_path, 2)
    import pypdf

    assert [p.extract_text().strip() for p in pypdf.PdfReader(str(scan)).pages] == ["", ""]
    layer = "".join(p.extract_text() for p in pypdf.PdfReader(str(text)).pages).replace("\n", "")
    assert scanned_pages_text(2)[1][1][:20] in layer


def test_the_detector_sees_only_the_inked_part_and_boxes_stay_in_page_pixels():
    require_cjk_font()
    from PIL import Image

    page = Image.new("L", (1240, 1753), 255)
    page.paste(sf.render_page(sf.PHOTO_LINES, rotate=0, size=(1000, 600)), (200, 900))  # ink: x 320.., y 1040..
    x0, y0, x1, y1 = _ocr.content_box(page)
    assert 200 < x0 < 320 and 900 < y0 < 1040 and y1 <= 1500 + _ocr.MARGIN  # the ink and MARGIN around it
    pieces = _ocr.recognise(page)
    assert any("补贴期限不超过两年" in p.text for p in pieces), [p.text for p in pieces]
    assert all(200 <= p.x0 and 900 <= p.y0 and p.x1 <= 1200 and p.y1 <= 1500 for p in pieces)  # the page's pixels
    assert _ocr.content_box(Image.new("L", (200, 100), 255)) is None
    assert _ocr.recognise(Image.new("L", (200, 100), 255)) == []


class _Page:
    def __init__(self, index: int):
        self.index, self.width, self.height = index, 1000, 1000


def test_scanned_pages_are_recognised_at_once_and_kept_in_page_order(scanned, monkeypatch):
    import threading

    if _ocr.ocr_parallel() < 2:
        pytest.skip("one core: pages are recognised one at a time")
    second_started = threading.Event()

    def fake(image):
        if image.index == 1:
            second_started.set()
        else:  # page 1 waits for page 2 to start: only pages recognised at once get past this
            assert second_started.wait(30), "page 2 did not start while page 1 was being recognised"
        return [Piece(f"第{image.index + 1}页 由识别得到的一行足够长的文字内容", 10, 10, 900, 40, 30)]

    monkeypatch.setattr(_pdfscan, "render", lambda doc, index, dpi, max_pixels: _Page(index))
    monkeypatch.setattr(_ocr, "recognise", fake)
    got = PdfReader().extract(scanned, ReadLimits(ocr_cache_dir=None))
    assert got.ocr_pages == (1, 2)
    assert got.text.index("第1页 由识别") < got.text.index("第2页 由识别")
