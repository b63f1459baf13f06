"""Fuzzing the readers (hypothesis): malformed files never crash a reader with a foreign exception, never hang.

The contract (retrieval/readers/): `reader.extract(path)` returns an `Extracted` (text: str) or raises the
project's own `assistant.errors.DocumentError` (an `AssistantError`) with a reason — never a library
exception (zipfile.BadZipFile, lxml's XMLSyntaxError, pypdf's PdfReadError, UnicodeError, KeyError…),
and never runs on: each read is watched by a SIGALRM watchdog (READ_SECONDS), whose exception derives
from BaseException so that no reader's `except Exception` can swallow it, and hypothesis' per-example
`deadline` fails an example that is merely slow.

Inputs, written under every reader's own suffix:
* random bytes, alone or after a format's magic (`%PDF-`, `PK\\x03\\x04`, OLE2, BOMs, `<html>`);
* byte-level mutations (truncate, flip, insert, delete, duplicate a range) of valid fixture documents
  from tests/docfixtures.py: .docx (python-docx), HTML, Markdown, text (UTF-8 and GB18030) and PDF (fpdf2,
  compressed and uncompressed content streams);
* part-level mutations of a valid .docx: one ZIP part replaced by a mutated copy, removed, or a junk
  part added (a valid ZIP around broken Word XML);
* wrong encodings: the text/HTML fixtures in UTF-16/32 without BOM, Big5, Shift-JIS, Latin-1, a BOM
  that lies, an HTML `<meta charset>` that lies or names a codec that is not a page charset.

All documents are the INVENTED fixtures of tests/docfixtures.py (测试市 does not exist). Runtime: about
20 s (PA_HYPOTHESIS_EXAMPLES raises the example count for a deeper run).
"""
from __future__ import annotations

import io
import os
import signal
import zipfile
from datetime import timedelta
from pathlib import Path

import docfixtures as fx
import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

import assistant  # noqa: F401  (assistant first: importing retrieval.ingest.documents alone is circular)
from assistant.errors import AssistantError, DocumentError
from retrieval.ingest.documents import load_document
from retrieval.readers import (
    OLE2_MAGIC,
    READERS,
    DocxReader,
    Extracted,
    HtmlReader,
    ImageReader,
    MarkdownReader,
    PdfReader,
    TextReader,
    XlsxReader,
)

READ_SECONDS = 15  # a read that takes longer is a hang
EXAMPLES = int(os.environ.get("PA_HYPOTHESIS_EXAMPLES", "40"))
FUZZ = settings(max_examples=EXAMPLES, deadline=timedelta(seconds=10), database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.function_scoped_fixture])
SUFFIX = {"text": ".txt", "markdown": ".md", "html": ".html", "docx": ".docx", "pdf": ".pdf", "xlsx": ".xlsx", "image": ".png"}
BY_NAME = {r.name: r for r in READERS}


class Hang(BaseException):
    """A read ran past READ_SECONDS (BaseException: a reader's `except Exception` cannot hide it)."""


def _alarm(signum, frame):
    raise Hang(f"a read took more than {READ_SECONDS} s")


def read_ok(reader, path: Path) -> None:
    """reader.extract(path) returns Extracted(str) or raises DocumentError (with a path and a reason)."""
    old = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, READ_SECONDS)
    try:
        got = reader.extract(path)
    except DocumentError as exc:
        assert isinstance(exc, AssistantError)
        assert exc.path == str(path) and isinstance(exc.reason, str) and exc.reason.strip()
        event(f"{reader.name}: DocumentError")  # pytest --hypothesis-show-statistics shows the mix
        return
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
    assert isinstance(got, Extracted) and isinstance(got.text, str)
    assert got.pages is None or (isinstance(got.pages, int) and got.pages >= 1)
    event(f"{reader.name}: text")


def read_all(data: bytes, directory: Path, readers=None) -> None:
    """data under every reader's suffix, read by that reader; then load_document on the .txt copy."""
    for name, reader in (readers or BY_NAME).items():
        path = directory / f"fuzz{SUFFIX[name]}"
        path.write_bytes(data)
        read_ok(reader, path)


# ------------------------------------------------------------------ valid fixtures to mutate


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> dict[str, bytes]:
    """Valid fixture documents (bytes), one per format."""
    d = tmp_path_factory.mktemp("fuzz-base")
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_compression(False)  # content streams in the clear: mutations hit the PDF syntax, not zlib
    pdf.add_page()
    pdf.set_font("helvetica", size=12)
    for i in range(6):
        pdf.cell(0, 10, f"Article {i + 1}: the test city grants a subsidy of {i * 10 + 5} units.", new_x="LMARGIN",
                 new_y="NEXT")
    return {
        "docx": fx.make_docx_with_subsidy_table(d).read_bytes(),
        "docx-numbering": fx.make_docx_with_auto_numbering(d).read_bytes(),
        "html": fx.make_html_page(d).read_bytes(),
        "markdown": fx.make_markdown(d).read_bytes(),
        "text": fx.make_txt(d).read_bytes(),
        "text-gb": fx.make_txt(d, name="gb.txt", encoding="gb18030").read_bytes(),
        "pdf": fx.minimal_pdf_bytes("Article 1: the test city grants a subsidy of 20 units to each firm."),
        "pdf-plain": bytes(pdf.output()),
    }


def test_the_valid_fixtures_read(base, tmp_path):
    """The unmutated fixtures read cleanly with their own reader (so mutations start from a good file)."""
    own = {"docx": "docx", "docx-numbering": "docx", "html": "html", "markdown": "markdown", "text": "text",
           "text-gb": "text", "pdf": "pdf", "pdf-plain": "pdf"}
    for key, data in base.items():
        reader = BY_NAME[own[key]]
        path = tmp_path / f"ok-{key}{SUFFIX[reader.name]}"
        path.write_bytes(data)
        assert reader.extract(path).text.strip(), key


# ------------------------------------------------------------------ strategies

MAGIC = [b"", b"%PDF-1.7\n", b"%PDF-", b"PK\x03\x04", b"PK\x05\x06", OLE2_MAGIC, b"\xef\xbb\xbf", b"\xff\xfe",
         b"\xfe\xff", b"<html>", b"<!DOCTYPE html><html><head><meta charset=gb2312>", b"<?xml version='1.0'?>"]


@st.composite
def mutate(draw, data: bytes) -> bytes:
    """A few byte-level edits of data (positions drawn as integers, taken modulo the length)."""
    out = bytearray(data)
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["truncate", "flip", "insert", "delete", "duplicate", "zero"]))
        n = len(out)
        at = draw(st.integers(0, 1 << 20)) % (n + 1)
        if op == "truncate":
            del out[at:]
        elif op == "flip" and n:
            out[at % n] ^= draw(st.integers(1, 255))
        elif op == "insert":
            out[at:at] = draw(st.binary(min_size=1, max_size=64))
        elif op == "delete":
            del out[at:at + draw(st.integers(1, 256))]
        elif op == "duplicate":
            out[at:at] = out[at:at + draw(st.integers(1, 512))]
        elif op == "zero":
            out[at:at + 16] = b"\x00" * len(out[at:at + 16])
    return bytes(out)


def _rezip(parts: list[tuple[str, bytes]]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, blob in parts:
            zf.writestr(name, blob)
    return buf.getvalue()


@st.composite
def docx_part_mutation(draw, data: bytes) -> bytes:
    """A valid ZIP whose Word parts are broken: one part mutated, removed, or a junk part added."""
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        parts = [(i.filename, zf.read(i)) for i in zf.infolist()]
    names = [n for n, _ in parts]
    target = draw(st.sampled_from(names))
    op = draw(st.sampled_from(["mutate", "mutate", "remove", "junk", "truncate-xml", "empty"]))
    out = []
    for name, blob in parts:
        if name == target:
            if op == "remove":
                continue
            if op == "mutate":
                blob = draw(mutate(blob))
            elif op == "truncate-xml":
                blob = blob[: draw(st.integers(0, max(len(blob) - 1, 0)))]
            elif op == "empty":
                blob = b""
        out.append((name, blob))
    if op == "junk":
        out.append((draw(st.sampled_from(["word/junk.xml", "customXml/item9.xml", "../evil.xml", "word/media/x.png"])),
                    draw(st.binary(max_size=256))))
    return _rezip(out)


ENCODINGS = ["utf-16-le", "utf-16-be", "utf-32", "big5", "shift_jis", "latin-1", "cp1252", "euc-kr", "utf-7"]
CHARSETS = ["utf-8", "gb2312", "gbk", "big5", "utf-16", "iso-8859-1", "x-unknown", "idna", "punycode", "base64",
            "rot13", "undefined", "unicode_escape", "utf-32"]


@st.composite
def wrong_encoding(draw, base: dict[str, bytes]) -> bytes:
    key = draw(st.sampled_from(["text", "markdown", "html"]))
    text = base[key].decode("utf-8")
    how = draw(st.sampled_from(["encode", "lying-bom", "lying-meta"]))
    if how == "encode":
        enc = draw(st.sampled_from(ENCODINGS))
        return text.encode(enc, errors="replace")
    if how == "lying-bom":
        bom = draw(st.sampled_from([b"\xff\xfe", b"\xfe\xff", b"\xef\xbb\xbf", b"\x00\x00\xfe\xff"]))
        return bom + text.encode(draw(st.sampled_from(["utf-8", "gb18030", "utf-16-le"])), errors="replace")
    charset = draw(st.sampled_from(CHARSETS))
    page = (f'<html><head><meta charset="{charset}"><title>测试市 xn--a.b</title></head>'
            f"<body><p>{text[:400]}</p></body></html>")
    return page.encode(draw(st.sampled_from(["utf-8", "gb18030", "utf-16-le", "latin-1"])), errors="replace")


# ------------------------------------------------------------------ properties


@FUZZ
@given(magic=st.sampled_from(MAGIC), tail=st.binary(max_size=3000))
@example(magic=b"PK\x03\x04", tail=bytes(range(256)) * 4)  # tests/docfixtures.make_broken_docx
@example(magic=b"%PDF-1.4\n", tail=b"%\xe2\xe3\xcf\xd3\n")  # a header and nothing else
@example(magic=b"", tail=b"\x01\x02\x03\x04\x05\x06\x07\x08" * 64)  # control characters, no NUL: decodes as UTF-8
def test_random_bytes(tmp_path, magic, tail):
    read_all(magic + tail, tmp_path)


@FUZZ
@given(data=st.data(), key=st.sampled_from(["docx", "docx-numbering", "html", "markdown", "text", "text-gb",
                                            "pdf", "pdf-plain"]))
def test_mutated_fixtures(tmp_path, base, data, key):
    read_all(data.draw(mutate(base[key])), tmp_path)


@FUZZ
@given(data=st.data(), key=st.sampled_from(["docx", "docx-numbering"]))
def test_docx_with_broken_parts(tmp_path, base, data, key):
    blob = data.draw(docx_part_mutation(base[key]))
    read_ok(DocxReader(), _write(tmp_path / "parts.docx", blob))


@FUZZ
@given(data=st.data())
@example(data=None)  # a declared charset that is a codec but not a page charset (punycode): was a UnicodeError
def test_wrong_encodings(tmp_path, base, data):
    if data is None:
        blob = b'<html><head><meta charset="punycode"></head><body><p>xn--a.b ' + b"a" * 100 + b"</p></body></html>"
    else:
        blob = data.draw(wrong_encoding(base))
    read_all(blob, tmp_path, {n: BY_NAME[n] for n in ("text", "markdown", "html")})


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def test_load_document_keeps_the_contract_on_mutated_files(tmp_path, base):
    """The same contract one level up (load_document: content sniffing, then the reader), on fixed seeds."""
    import random

    rng = random.Random(8)
    for key, data in base.items():
        for k in range(6):
            blob = bytearray(data)
            for _ in range(3):
                at = rng.randrange(len(blob))
                blob[at:at + rng.randrange(1, 64)] = rng.randbytes(rng.randrange(0, 64))
            suffix = {"docx": ".docx", "docx-numbering": ".docx", "html": ".html", "markdown": ".md",
                      "pdf": ".pdf", "pdf-plain": ".pdf"}.get(key, ".txt")
            path = _write(tmp_path / f"m{k}-{key}{suffix}", bytes(blob))
            try:
                load_document(path)
            except DocumentError:
                pass


def test_every_reader_is_fuzzed():
    assert {type(r) for r in READERS} == {TextReader, MarkdownReader, HtmlReader, DocxReader, PdfReader, XlsxReader,
                                          ImageReader}
    assert set(BY_NAME) == set(SUFFIX)


@pytest.mark.parametrize("reader", [DocxReader(), XlsxReader()], ids=["docx", "xlsx"])
def test_a_damaged_deflate_stream_in_the_content_types_is_a_document_error(tmp_path, reader):
    """A package without the reader's main part whose [Content_Types].xml does not inflate (zlib.error, which
    is neither an OSError nor a BadZipFile; found by test_mutated_fixtures) is refused as damaged."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", "<Types>" + "<Default Extension='xml' ContentType='x'/>" * 40 + "</Types>")
    blob = bytearray(buf.getvalue())
    start = 30 + len("[Content_Types].xml")  # the local header, the name, then the deflate stream
    blob[start] = 0xFF  # 0b11 block type: "invalid block type"
    path = _write(tmp_path / f"damaged{SUFFIX[reader.name]}", bytes(blob))
    with pytest.raises(DocumentError, match="damaged ZIP container"):
        reader.extract(path)
