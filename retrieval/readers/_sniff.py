"""Content sniffing: what the bytes of a file are (PDF, Word, HTML, text), whatever its name says.

`sniff(path)` -> "pdf" | "docx" | "xlsx" | "image" | "html" | "text" | "unknown" (KIND_NAMES says each);
`describe_content(path)` says what an unexpected file is (`a PDF`, `an old binary Office file…`);
`is_legacy_office(path)` spots an old .doc/.xls (OLE2). The BOM and decoding probes are shared with
the text and HTML readers.
"""
from __future__ import annotations

import codecs
import re
import zipfile
from pathlib import Path

SNIFF_BYTES = 64 * 1024
KIND_NAMES = {
    "pdf": "a PDF",
    "docx": "a Word (.docx) document",
    "xlsx": "an Excel workbook (.xlsx)",
    "image": "an image (PNG or JPEG)",
    "html": "an HTML page",
    "text": "plain text",
    "unknown": "not a supported format (binary data)",
}
OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGIC = b"PK\x03\x04"
IMAGE_MAGIC = {b"\x89PNG\r\n\x1a\n": "PNG", b"\xff\xd8\xff": "JPEG"}
PDF_HEADER_WINDOW = 1024  # the `%PDF-` header must start within the first KB (what PDF readers accept)
_HTML_START = re.compile(rb"^\s*(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html)[\s>]", re.IGNORECASE | re.DOTALL)


def bom_encoding(raw: bytes) -> str | None:
    """The encoding a byte-order mark at the start of raw says ("utf-8-sig" / "utf-16"), else None."""
    if raw.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    return None


def _decodes(raw: bytes, encoding: str) -> bool:
    """raw decodes as encoding (a multi-byte character cut off at the end of the sample is fine)."""
    try:
        codecs.getincrementaldecoder(encoding)().decode(raw, final=False)
        return True
    except (UnicodeDecodeError, LookupError):
        return False


def is_legacy_office(path: Path) -> bool:
    """An old binary Office file (.doc/.xls/.ppt: OLE2 compound document)."""
    with open(path, "rb") as fh:
        return fh.read(8) == OLE2_MAGIC


def sniff(path: Path) -> str:
    """What the bytes are: "pdf" | "docx" | "xlsx" | "image" | "html" | "text" | "unknown" (the name is not
    looked at)."""
    with open(path, "rb") as fh:
        head = fh.read(SNIFF_BYTES)
    if head.lstrip(b"\x00\t\n\r\x0c ").startswith(b"%PDF-"):
        return "pdf"
    if head.startswith(ZIP_MAGIC):
        try:
            with zipfile.ZipFile(path) as zf:
                names = set(zf.namelist())
        except (zipfile.BadZipFile, OSError, ValueError):
            return "unknown"
        return "docx" if "word/document.xml" in names else "xlsx" if "xl/workbook.xml" in names else "unknown"
    if image_format(head):
        return "image"
    bom = bom_encoding(head)
    if bom == "utf-16":
        try:
            sample = codecs.getincrementaldecoder("utf-16")().decode(head, final=False)
        except UnicodeDecodeError:
            return "unknown"
        if "\x00" in sample:
            return "unknown"
        return "html" if _HTML_START.match(sample[:1024].encode("utf-8")) else "text"
    body = head[3:] if bom == "utf-8-sig" else head
    if b"\x00" in body:
        return "unknown"
    if _HTML_START.match(body[:1024]):
        return "html"
    if _decodes(body, "utf-8") or _decodes(body, "gb18030"):
        return "text"
    return "unknown"


def image_format(head: bytes) -> str | None:
    """"PNG" / "JPEG" when the bytes start with that image format's signature, else None."""
    return next((name for magic, name in IMAGE_MAGIC.items() if head.startswith(magic)), None)


def describe_content(path: Path) -> str:
    """What the bytes at path are, for an error message: `a PDF`, `plain text`, `binary data`…"""
    try:
        kind = sniff(path)
        if kind != "unknown":
            return KIND_NAMES[kind]
        with open(path, "rb") as fh:
            head = fh.read(8)
    except OSError:
        return "unreadable"
    if head == OLE2_MAGIC:
        return "an old binary Office file (.doc/.xls, OLE2)"
    if head.startswith(ZIP_MAGIC):
        return "a ZIP package that is not a Word document"
    return "binary data"


def suffix_of(path: Path) -> str:
    """The file's extension for a message: `.docx`, `(no extension)`."""
    return Path(path).suffix.lower() or "(no extension)"
