"""Bad scans stay safe: an image bomb, a damaged image, a PDF whose pages are empty each get a clear error
naming the file — through the library and through HTTP — and the previous library and index are unchanged."""
from __future__ import annotations

import struct
import zlib
from pathlib import Path

import pytest
import scanfixtures as sf
from docfixtures import private_index, require_cjk_font
from fastapi.testclient import TestClient

from api.app import create_app
from assistant.core import Assistant
from assistant.errors import DocumentError
from assistant.library.documents import add_documents

from scanfixtures import AUTH, TOKEN, Unchanged


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_claiming(width: int, height: int) -> bytes:
    """A small PNG file whose header says width x height (a decompression bomb's first line)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\0" * (width + 1) * 4, 9)  # a few rows: the rest would inflate from nothing
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")


def empty_pages_pdf(pages: int) -> bytes:
    """A PDF whose (A6) pages have 0-byte content streams (nothing drawn, no text)."""
    objects = ["<< /Type /Catalog /Pages 2 0 R >>",
               f"<< /Type /Pages /Kids [{' '.join(f'{3 + 2 * i} 0 R' for i in range(pages))}] /Count {pages} >>"]
    for i in range(pages):
        objects.append(f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 298 421] /Contents {4 + 2 * i} 0 R >>")
        objects.append("<< /Length 0 >>\nstream\n\nendstream")
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for n, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{n} 0 obj\n{body}\nendobj\n".encode()
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += "".join(f"{o:010d} 00000 n \n" for o in offsets).encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


@pytest.fixture(scope="module")
def guard(built_settings, tmp_path_factory):
    root = tmp_path_factory.mktemp("bad-scans")
    settings = private_index(built_settings, root / "lib", admin_token=TOKEN)
    app = create_app(settings, assistant=Assistant.from_settings(settings, build=False), ui=False)
    with TestClient(app) as client:
        yield client, settings


def _refused(guard, tmp_path: Path, name: str, data: bytes, *fragments: str) -> None:
    client, settings = guard
    before = Unchanged(settings)
    src = tmp_path / name
    src.write_bytes(data)
    with pytest.raises(DocumentError) as e:
        add_documents(settings, [src])
    assert name in str(e.value), str(e.value)
    for fragment in fragments:
        assert fragment in e.value.reason, (fragment, e.value.reason)
    before.check()
    r = client.post("/v1/documents", headers=AUTH, files={"file": (name, data, "application/octet-stream")})
    assert r.status_code == 422, r.text
    detail = r.json()["detail"]
    assert detail.startswith(f"{name}: "), detail
    for fragment in fragments:
        assert fragment in detail
    before.check()


def test_an_image_bomb_is_refused_before_it_is_decoded(guard, tmp_path):
    _refused(guard, tmp_path, "炸弹.png", png_claiming(8000, 8000), "8000×8000 pixels", "PA_MAX_IMAGE_PIXELS",
             "image bomb")
    _refused(guard, tmp_path, "巨图.png", png_claiming(60000, 60000), "too large to read", "PA_MAX_IMAGE_PIXELS")


def test_a_damaged_image_is_refused(guard, tmp_path):
    require_cjk_font()
    good = sf.make_photo(tmp_path).read_bytes()
    _refused(guard, tmp_path, "截断.png", good[: len(good) // 2], "not a readable PNG image", "damaged or cut off")
    _refused(guard, tmp_path, "乱码.jpg", b"\xff\xd8\xff\xe0" + bytes(range(256)) * 8, "not a readable JPEG image")
    _refused(guard, tmp_path, "文本.png", "第一条 这不是图片。".encode(), "the content is plain text", ".png")


def test_a_pdf_of_empty_pages_is_refused(guard, tmp_path):
    _refused(guard, tmp_path, "空白页.pdf", empty_pages_pdf(3), "no text layer", "OCR found no text")
