"""Hostile uploads: content that lies about its type, ZIP bombs, oversized/slow PDFs, path-like file names.

Each case goes through the real library function (`assistant.library.documents.add_documents`) AND the real HTTP
endpoint (`POST /v1/documents`, in-process TestClient, admin token), on a PRIVATE copy of the session's
built index (corpus/ + data/ copied, as in tests/library), and checks the error message (it names the
file and says what was expected) and that nothing else changed: the files in corpus/ byte for byte,
the documents of the active index, and (HTTP) that the plan is still answered.

All 测试市 documents here are INVENTED test data (测试市 does not exist; amounts, numbers and dates are
made up); each says so with the line （测试用虚构文件）.
"""
from __future__ import annotations

import io
import json
import time
import zipfile
from pathlib import Path

import docfixtures as fx
from docfixtures import private_index
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from assistant.core import Assistant
from assistant.errors import DocumentError
from assistant.library.documents import add_documents, list_documents, safe_name
from assistant.settings import Settings

TOKEN = "s3cret"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
PLAN_ID = "changsha-sti-plan-2021-2025"
PLAN_Q = "到2025年长沙市高新技术企业数量目标是多少？"
MB = 1024 * 1024

# ---------------------------------------------------------------- invented test data (测试市 does not exist)
VOUCHER = """测试市科技创新券管理办法
（测试用虚构文件）
第一条 为支持测试市科技型中小企业开展研究开发活动，降低企业创新成本，制定本办法。
第二条 每家企业每年申领的创新券额度最高为20万元，其中用于检验检测服务的部分不超过总额度的一半。
第三条 创新券自发放之日起十二个月内有效，逾期未使用的额度自动作废。
"""


def voucher(n: int) -> str:
    """The voucher text with its own title (each hostile-name upload is a document of its own)."""
    return VOUCHER.replace("测试市科技创新券管理办法", f"测试市科技创新券管理办法（第{n}号样例）")


# ---------------------------------------------------------------- helpers




def snapshot(corpus: Path) -> dict[str, bytes]:
    """Every file under corpus/ (hidden ones included) with its bytes."""
    return {str(p.relative_to(corpus)): p.read_bytes() for p in sorted(corpus.rglob("*")) if p.is_file()}


def upload(client: TestClient, name: str, data: bytes, metadata: dict | None = None):
    form = {"metadata": json.dumps(metadata, ensure_ascii=False)} if metadata else {}
    return client.post("/v1/documents", headers=AUTH, files={"file": (name, data, "application/octet-stream")},
                       data=form)


class State:
    """What must not change when an upload is refused."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.files = snapshot(settings.corpus_dir)
        self.docs = list_documents(settings)

    def unchanged(self) -> None:
        assert snapshot(self.settings.corpus_dir) == self.files
        assert list_documents(self.settings) == self.docs


def zip_bytes(parts: list[tuple[str, bytes]], method=zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method, compresslevel=9 if method == zipfile.ZIP_DEFLATED else None) as zf:
        for name, blob in parts:
            zf.writestr(name, blob)
    return buf.getvalue()


def docx_with(extra: list[tuple[str, bytes]], tmp: Path, method=zipfile.ZIP_DEFLATED) -> bytes:
    """A valid Word document (the invented 创新券管理办法) with extra parts added to its package."""
    good = fx.make_docx_with_subsidy_table(tmp)
    with zipfile.ZipFile(good) as zf:
        parts = [(i.filename, zf.read(i)) for i in zf.infolist()]
    return zip_bytes(parts + extra, method)


def pdf_pages(pages: int, **kw) -> bytes:
    """A PDF with a Latin text layer on every page (no CJK font needed)."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_font("helvetica", size=12)
    for i in range(pages):
        pdf.add_page()
        for k in range(3):
            pdf.cell(0, 10, f"Page {i + 1}, article {k + 1}: the test city grants 20 units to each firm.",
                     new_x="LMARGIN", new_y="NEXT")
    if kw.get("password"):
        from fpdf.enums import EncryptionMethod

        pdf.set_encryption(owner_password="owner", user_password=kw["password"],
                           encryption_method=EncryptionMethod.RC4)
    return bytes(pdf.output())


# ---------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def guard(built_settings, tmp_path_factory):
    """One library + app for all the refused uploads (every test checks that nothing changed)."""
    root = tmp_path_factory.mktemp("hardening-guard")
    settings = private_index(built_settings, root / "lib", max_pdf_pages=3, admin_token=TOKEN)
    app = create_app(settings, assistant=Assistant.from_settings(settings, build=False), ui=False)
    with TestClient(app) as client:
        yield client, settings, root


@pytest.fixture(scope="module")
def bomb(tmp_path_factory) -> bytes:
    """A real ZIP bomb in a .docx: a valid Word package plus 210 MB of zeros deflated to ~200 KB."""
    d = tmp_path_factory.mktemp("bomb")
    good = fx.make_docx_with_subsidy_table(d)
    buf = io.BytesIO()
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for info in src.infolist():
            zf.writestr(info.filename, src.read(info))
        with zf.open("word/media/image1.bin", "w", force_zip64=True) as fh:
            chunk = b"\0" * MB
            for _ in range(210):
                fh.write(chunk)
    data = buf.getvalue()
    assert len(data) < 2 * MB
    return data


def refused(guard, tmp_path, name: str, data: bytes, *fragments: str) -> tuple[str, str]:
    """Upload `data` as `name` through add_documents and through HTTP; both refuse it, saying `fragments`.

    Returns (the library's reason, the HTTP detail)."""
    client, settings, _root = guard
    before = State(settings)
    src = tmp_path / "incoming" / name
    src.parent.mkdir(parents=True, exist_ok=True)
    src.write_bytes(data)
    with pytest.raises(DocumentError) as info:
        add_documents(settings, [src])
    reason = info.value.reason
    assert name in str(info.value)  # the error names the file
    for fragment in fragments:
        assert fragment in reason, (fragment, reason)
    before.unchanged()

    r = upload(client, name, data)
    assert r.status_code == 422, r.text
    detail = r.json()["detail"]
    assert detail.startswith(f"{safe_name(name)}: "), detail  # the client's file, not where we kept it
    for fragment in fragments:
        assert fragment in detail, (fragment, detail)
    assert "/tmp" not in detail and "pa-add-" not in detail and "pa-upload-" not in detail
    before.unchanged()
    return reason, detail


# ---------------------------------------------------------------- 1. the content must be what the name says

BINARY = bytes(range(256)) * 8  # NUL bytes and everything else
CONTROLS = b"\x01\x02\x03\x04\x05\x06\x07\x08\x0e\x0f" * 50  # valid UTF-8, no NUL: still not text
NOT_UTF8_OR_GB = b"policy " + b"\xff\xff text " * 50  # no encoding we read fits (0xFF is never valid in GB18030)

CONTENT_CASES = {
    "text-named-pdf": ("政策.pdf", VOUCHER.encode("utf-8"), ["the content is plain text", ".pdf"]),
    "binary-named-pdf": ("扫描.pdf", BINARY, ["expected a PDF", "no %PDF- header", "binary data"]),
    "html-named-pdf": ("page.pdf", b"<!DOCTYPE html><html><body><p>x</p></body></html>",
                       ["the content is an HTML page", ".pdf"]),
    "text-named-docx": ("办法.docx", VOUCHER.encode("utf-8"), ["the content is plain text", ".docx"]),
    "binary-named-docx": ("办法2.docx", BINARY[1:], ["expected a Word (.docx) document", "binary data"]),
    "zip-without-word": ("archive.docx", zip_bytes([("readme.txt", b"hello"), ("data/x.csv", b"a,b")]),
                         ["expected a Word (.docx) document", "without word/document.xml"]),
    "xlsx-named-docx": ("表格.docx", zip_bytes([("[Content_Types].xml", b"<Types/>"), ("xl/workbook.xml", b"<w/>")]),
                        ["an Excel workbook (.xlsx), not a Word document"]),
    "ole2-named-docx": ("旧格式.docx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 504,
                        ["old binary Office file", "save it as .docx"]),
    "nul-bytes-txt": ("notes.txt", VOUCHER.encode("utf-8") + b"\x00\x00" + VOUCHER.encode("utf-8"),
                      ["not text (binary data)", ".txt"]),
    "controls-txt": ("controls.txt", CONTROLS, ["expected plain text", "binary data", "control characters"]),
    "undecodable-md": ("readme.md", NOT_UTF8_OR_GB, ["not text (binary data)", ".md"]),
    "binary-html": ("page.html", b"<html>" + BINARY, ["binary data"]),
    "pdf-named-html": ("page2.html", pdf_pages(1), ["the content is a PDF", ".html"]),
    "pdf-named-txt": ("说明.txt", pdf_pages(1), ["the content is a PDF", ".txt"]),
}


@pytest.mark.parametrize("case", sorted(CONTENT_CASES))
def test_content_that_does_not_match_the_name_is_refused(guard, tmp_path, case):
    name, data, fragments = CONTENT_CASES[case]
    refused(guard, tmp_path, name, data, *fragments)


# ---------------------------------------------------------------- 2. .docx: ZIP bombs


def test_zip_bomb_docx_is_refused_quickly_before_it_is_inflated(guard, tmp_path, bomb):
    started = time.perf_counter()
    refused(guard, tmp_path, "炸弹.docx", bomb, "unpacks to 21", "at most 200 MB",
                        "PA_MAX_DOCX_UNCOMPRESSED_BYTES", "ZIP bomb")
    # both refusals (library + HTTP) with the state checks: nothing near the time to inflate 210 MB twice
    assert time.perf_counter() - started < 20


def test_docx_entry_that_expands_too_much_is_refused(guard, tmp_path):
    parts = [("word/media/blank.bin", b"\0" * (4 * MB))]  # ~4 KB compressed: ~1000-fold
    refused(guard, tmp_path, "ratio.docx", docx_with(parts, tmp_path), "word/media/blank.bin", "-fold",
            "PA_MAX_DOCX_COMPRESSION_RATIO")


def test_docx_with_too_many_entries_is_refused(guard, tmp_path):
    parts = [(f"word/extra/item{i}.xml", b"<a/>") for i in range(5001)]
    refused(guard, tmp_path, "entries.docx", docx_with(parts, tmp_path, zipfile.ZIP_STORED),
            "files; at most 5000", "PA_MAX_DOCX_ENTRIES")


def test_docx_limits_follow_the_settings(built_settings, tmp_path):
    """A small PA_MAX_DOCX_UNCOMPRESSED_BYTES refuses an ordinary (stored, ratio 1) package over it."""
    settings = private_index(built_settings, tmp_path / "lib", max_docx_uncompressed_bytes=64 * 1024, admin_token=TOKEN)
    before = State(settings)
    src = tmp_path / "stored.docx"
    src.write_bytes(docx_with([("word/media/photo.bin", bytes(range(256)) * 400)], tmp_path, zipfile.ZIP_STORED))
    with pytest.raises(DocumentError, match=r"unpacks to .*at most 65536 bytes"):
        add_documents(settings, [src])
    before.unchanged()


# ---------------------------------------------------------------- 3. PDF: pages and time


def test_pdf_over_the_page_limit_is_refused(guard, tmp_path):
    refused(guard, tmp_path, "long.pdf", pdf_pages(4), "has 4 pages; at most 3", "PA_MAX_PDF_PAGES")


def test_pdf_within_the_page_limit_is_read(guard, tmp_path):
    """The same kind of PDF at the limit passes validation (read, not added: the guard library stays as is)."""
    from retrieval.ingest.documents import load_document
    path = tmp_path / "short.pdf"
    path.write_bytes(pdf_pages(3))
    doc = load_document(path, guard[1].read_limits())
    assert doc.text.count("\f") == 2


def test_pdf_parse_time_limit_is_checked_between_pages(guard, tmp_path, monkeypatch):
    """A slow PDF (each page takes 0.3 s here) stops at the time limit with a clear error, not at the end."""
    import pypdf

    _client, settings, _root = guard
    real = pypdf.PageObject.extract_text
    calls = []

    def slow(self, *a, **kw):
        calls.append(1)
        time.sleep(0.3)
        return real(self, *a, **kw)

    monkeypatch.setattr(pypdf.PageObject, "extract_text", slow)
    monkeypatch.setattr(settings, "max_pdf_pages", 50)
    monkeypatch.setattr(settings, "pdf_timeout_seconds", 1.0)
    started = time.perf_counter()
    refused(guard, tmp_path, "slow.pdf", pdf_pages(20), "took longer than 1 s", "stopped before page",
                        "of 20", "PA_PDF_TIMEOUT_SECONDS")
    assert len(calls) < 2 * 8, len(calls)  # two reads (library + HTTP), each stopped after ~4 of 20 pages
    assert time.perf_counter() - started < 20


def test_encrypted_pdf_is_refused(guard, tmp_path):
    refused(guard, tmp_path, "加密.pdf", pdf_pages(1, password="secret"), "encrypted")


# ---------------------------------------------------------------- 4. the file name is never a path

HOSTILE_NAMES = {
    "../../etc/passwd.txt": "passwd.txt",
    "/abs/x.md": "x.md",
    "a\\..\\b.txt": "b.txt",
    "nul\x00name.txt": "nul_name.txt",
    "x" * 1000 + ".txt": "x" * 80 + ".txt",
    "\U00020000" * 100 + ".txt": "\U00020000" * 40 + ".txt",  # 4-byte letters: was over 255 bytes (ENAMETOOLONG)
    "....txt": "document.txt",
    "C:\\Windows\\..\\evil.md": "evil.md",
}


def test_hostile_names_through_the_library_stay_inside_corpus(built_settings, tmp_path):
    settings = private_index(built_settings, tmp_path / "lib", admin_token=TOKEN)
    plan_before = [d for d in list_documents(settings) if d["doc_id"] == PLAN_ID]
    plan_file = (settings.corpus_dir / f"{PLAN_ID}.txt").read_bytes()
    src = tmp_path / "incoming"
    src.mkdir()
    paths = []
    for i, name in enumerate(HOSTILE_NAMES):
        p = src / f"upload{i}.txt"
        p.write_text(voucher(i), encoding="utf-8")
        paths.append(p)
    result = add_documents(settings, paths, names=list(HOSTILE_NAMES))
    assert [d.file for d in result.documents] == list(HOSTILE_NAMES.values())
    for d in result.documents:
        stored = settings.corpus_dir / d.file
        assert stored.parent == settings.corpus_dir and stored.is_file()
        assert len(d.file.encode("utf-8")) <= 200
    # nothing was written anywhere else (not next to corpus/, not in the tmp root, not in data/)
    corpus_files = {p for p in tmp_path.rglob("*") if p.is_file()} - {p for p in src.rglob("*")}
    outside = [p for p in corpus_files if settings.corpus_dir not in p.parents and settings.data_dir not in p.parents]
    assert outside == [], outside
    assert not any(p.name in ("passwd.txt", "evil.md", "b.txt") for p in settings.data_dir.rglob("*"))
    # the plan is untouched
    assert (settings.corpus_dir / f"{PLAN_ID}.txt").read_bytes() == plan_file
    assert [d for d in list_documents(settings) if d["doc_id"] == PLAN_ID] == plan_before
    assert len(list_documents(settings)) == 1 + len(HOSTILE_NAMES)


@pytest.mark.parametrize("name", ["....", "..", ".", "", "/", "\x00", "a/b/"])
def test_names_without_a_type_are_refused(guard, tmp_path, name):
    client, settings, _root = guard
    before = State(settings)
    src = tmp_path / "upload.bin"
    src.write_text(VOUCHER, encoding="utf-8")
    with pytest.raises(DocumentError, match="unsupported file type"):
        add_documents(settings, [src], names=[name])
    before.unchanged()
    if name:  # an empty file name is not a file part at all in multipart
        r = upload(client, name, VOUCHER.encode("utf-8"))
        assert r.status_code == 422, r.text
        assert "is not accepted" in r.json()["detail"], r.text
    before.unchanged()


def test_two_files_with_the_same_doc_id_in_one_call_are_refused(guard, tmp_path):
    """`....txt` and `...md` both become doc_id `document`: refused up front (one of them would vanish)."""
    _client, settings, _root = guard
    before = State(settings)
    a, b = tmp_path / "a.txt", tmp_path / "b.md"
    a.write_text(voucher(1), encoding="utf-8")
    b.write_text(voucher(2), encoding="utf-8")
    with pytest.raises(DocumentError, match="has the doc_id 'document' of document.txt"):
        add_documents(settings, [a, b], names=["....txt", "...md"])
    before.unchanged()


def test_hostile_names_through_http_stay_inside_corpus(built_settings, tmp_path):
    settings = private_index(built_settings, tmp_path / "lib", admin_token=TOKEN)
    app = create_app(settings, ui=False)
    plan_file = (settings.corpus_dir / f"{PLAN_ID}.txt").read_bytes()
    cases = {"../../etc/passwd.txt": "passwd.txt", "a\\..\\..\\b\x00c.md": None,
             "\U00020000" * 100 + ".txt": "\U00020000" * 40 + ".txt"}
    with TestClient(app) as client:
        assert app.state.service.wait(120), app.state.service.error
        for i, (name, expected) in enumerate(cases.items()):
            r = upload(client, name, voucher(10 + i).encode("utf-8"))
            assert r.status_code == 200, (name, r.text)
            stored = r.json()["file"]
            if expected is not None:
                assert stored == expected
            assert "/" not in stored and "\\" not in stored and "\x00" not in stored and not stored.startswith(".")
            assert (settings.corpus_dir / stored).is_file()
        r = client.post("/v1/ask", json={"question": PLAN_Q})
        assert r.status_code == 200 and "6000" in r.json()["answer"]
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    outside = [p for p in files if settings.corpus_dir not in p.parents and settings.data_dir not in p.parents]
    assert outside == [], outside
    assert (settings.corpus_dir / f"{PLAN_ID}.txt").read_bytes() == plan_file
    assert len(list_documents(settings)) == 1 + len(cases)


# ---------------------------------------------------------------- the guard library is still whole


def test_after_all_the_refusals_the_plan_is_still_answered(guard):
    client, settings, _root = guard
    assert [d["doc_id"] for d in list_documents(settings)] == [PLAN_ID]
    r = client.post("/v1/ask", json={"question": PLAN_Q})
    assert r.status_code == 200 and "6000" in r.json()["answer"]
