"""Readers: a file in corpus/ -> the plain text the segmenter reads.

The text contract (what `retrieval.segment` expects):
* one paragraph / heading per line (`第一章 总则`, `第八条 …`, `一、…`, `（一）…`, `1. …` stay as typed);
* a table is consecutive lines of TAB-separated cells, the header row first; TABs appear nowhere else
  (a TAB inside a paragraph becomes a space, a newline inside a cell becomes a space);
* PDF pages are separated by a form feed: page N+1 starts after the N-th `\\f` (the readers write
  `\\n\\f` so a page never shares a line with the next one).

Formats: plain text and Markdown (`TextReader`, `MarkdownReader`), HTML (`HtmlReader`, the article body
via trafilatura), Word (`DocxReader`, python-docx) and PDF (`PdfReader`, pypdf). `sniff(path)` tells what
the bytes are, whatever the name says. Every failure inside a reader is a `DocumentError` with a reason a
person can act on; no library exception escapes.

Each reader also checks that the bytes are what its format promises before parsing (a `.pdf` must carry
the `%PDF-` header, a `.docx` must be a ZIP package with a Word main part, text/Markdown/HTML must not be
binary), and the two parsers that could be made to work without end have limits (`ReadLimits`: a .docx
package's uncompressed size, compression ratio and entry count, inspected before python-docx opens it; a
PDF's page count and parse time, checked between pages). The limits come from the settings
(`PA_MAX_DOCX_*`, `PA_MAX_PDF_PAGES`, `PA_PDF_TIMEOUT_SECONDS`, passed down as a `ReadLimits`);
`read_limits(limits)` applies them to the reads inside it.
"""
from __future__ import annotations

import codecs
import logging
import re
import struct
import time
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from retrieval.cnparse import chinese_number
from retrieval.errors import DocumentError

log = logging.getLogger(__name__)


@dataclass
class Extracted:
    """What a reader got from a file: the text, a title candidate (HTML <title>/<h1>), the page count
    (PDF), and labelled metadata seen outside the text (e.g. an HTML page's 发文字号 box)."""

    text: str
    title: str | None = None
    pages: int | None = None
    hints: dict[str, str] | None = None


@runtime_checkable
class Reader(Protocol):
    name: str
    suffixes: tuple[str, ...]

    def read(self, path: Path) -> str: ...


class BaseReader:
    """`extract(path) -> Extracted` does the work; `read(path) -> str` is its text."""

    name = "base"
    suffixes: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()  # what sniff() may say about a file this reader accepts

    def read(self, path: Path) -> str:
        return self.extract(Path(path)).text

    def extract(self, path: Path) -> Extracted:  # pragma: no cover - abstract
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


# ----------------------------------------------------------------------------- limits

MB = 1024 * 1024


@dataclass(frozen=True)
class ReadLimits:
    """How much work one document may cost the readers (see the Settings fields of the same names)."""

    max_docx_uncompressed_bytes: int = 200 * MB  # the sum of the package's declared uncompressed sizes
    max_docx_compression_ratio: float = 200.0  # uncompressed / compressed, per entry (entries over 1 MB)
    max_docx_entries: int = 5000  # files in the ZIP package
    max_pdf_pages: int = 1000
    pdf_timeout_seconds: float = 60.0  # parsing + text extraction, checked between pages


DOCX_RATIO_MIN_BYTES = 1 * MB  # the ratio cap applies to entries larger than this (tiny parts compress oddly)
_LIMITS: ContextVar[ReadLimits | None] = ContextVar("pa_read_limits", default=None)


def current_limits() -> ReadLimits:
    """The limits in force: those of `read_limits(...)` around this call, else the built-in ReadLimits()."""
    got = _LIMITS.get()
    return got if got is not None else ReadLimits()


@contextmanager
def read_limits(limits: ReadLimits) -> Iterator[ReadLimits]:
    """Apply limits to every read inside the block (this thread/task)."""
    if not isinstance(limits, ReadLimits):
        raise TypeError(f"read_limits() takes a ReadLimits, not {type(limits).__name__}")
    token = _LIMITS.set(limits)
    try:
        yield limits
    finally:
        _LIMITS.reset(token)


def _size(n: float) -> str:
    return f"{n / MB:.0f} MB" if n >= MB else f"{n:.0f} bytes"


# ----------------------------------------------------------------------------- sniffing

SNIFF_BYTES = 64 * 1024
KIND_NAMES = {
    "pdf": "a PDF",
    "docx": "a Word (.docx) document",
    "html": "an HTML page",
    "text": "plain text",
    "unknown": "not a supported format (binary data)",
}
_HTML_START = re.compile(rb"^\s*(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html)[\s>]", re.IGNORECASE | re.DOTALL)


def _bom_encoding(raw: bytes) -> str | None:
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


OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def is_legacy_office(path: Path) -> bool:
    """An old binary Office file (.doc/.xls/.ppt: OLE2 compound document)."""
    with open(path, "rb") as fh:
        return fh.read(8) == OLE2_MAGIC


def sniff(path: Path) -> str:
    """What the bytes are: "pdf" | "docx" | "html" | "text" | "unknown" (the name is not looked at)."""
    with open(path, "rb") as fh:
        head = fh.read(SNIFF_BYTES)
    if head.lstrip(b"\x00\t\n\r\x0c ").startswith(b"%PDF-"):
        return "pdf"
    if head.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(path) as zf:
                return "docx" if "word/document.xml" in zf.namelist() else "unknown"
        except (zipfile.BadZipFile, OSError, ValueError):
            return "unknown"
    bom = _bom_encoding(head)
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


# ----------------------------------------------------------------------------- content checks

ZIP_MAGIC = b"PK\x03\x04"
PDF_HEADER_WINDOW = 1024  # the `%PDF-` header must start within the first KB (what PDF readers accept)
DOCX_MAIN = "word/document.xml"
_DOCX_MAIN_TYPE = b"wordprocessingml.document.main+xml"
_OTHER_OOXML = {"xl/workbook.xml": "an Excel workbook (.xlsx), not a Word document",
                "ppt/presentation.xml": "a PowerPoint presentation (.pptx), not a Word document"}
_TEXT_CONTROLS = re.compile(r"[\x00-\x08\x0e-\x1a\x1c-\x1f\x7f]")  # C0 controls text never has (TAB, LF, CR, FF, VT, ESC are fine)
MAX_CONTROL_SHARE = 0.05  # more control characters than this (of the first 64K characters): binary data


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


def _suffix(path: Path) -> str:
    return Path(path).suffix.lower() or "(no extension)"


def check_text_bytes(raw: bytes, path: Path, expected: str) -> None:
    """DocumentError when raw is clearly not text: a PDF/ZIP/OLE2 file, or NUL bytes (UTF-16 with a BOM aside)."""
    head = raw[:PDF_HEADER_WINDOW]
    what = None
    if head.lstrip(b"\x00\t\n\r\x0c ").startswith(b"%PDF-"):
        what = "a PDF"
    elif raw.startswith((ZIP_MAGIC, b"PK\x05\x06")):
        what = "a ZIP package (e.g. a .docx)"
    elif raw.startswith(OLE2_MAGIC):
        what = "an old binary Office file (.doc/.xls, OLE2)"
    elif _bom_encoding(raw) != "utf-16" and b"\x00" in raw:
        what = "binary data (NUL bytes)"
    if what:
        raise DocumentError(f"expected {expected} for a {_suffix(path)} file, but the content is {what}", path=str(path))


def check_text_chars(text: str, path: Path, expected: str) -> None:
    """DocumentError when decoded text is binary data after all (NUL or many other control characters)."""
    sample = text[:SNIFF_BYTES]
    if "\x00" in text:
        raise DocumentError(f"expected {expected} for a {_suffix(path)} file, but the content is "
                                       "binary data (NUL characters)", path=str(path))
    controls = len(_TEXT_CONTROLS.findall(sample))
    if controls and controls > MAX_CONTROL_SHARE * len(sample):
        raise DocumentError(f"expected {expected} for a {_suffix(path)} file, but the content is "
                                       f"binary data ({controls} control characters in {len(sample)})", path=str(path))


def check_pdf_header(path: Path) -> None:
    """DocumentError unless the file starts (within its first KB) with the `%PDF-` header."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(PDF_HEADER_WINDOW)
    except OSError as exc:
        raise DocumentError(f"cannot read: {exc.strerror or exc}", path=str(path)) from exc
    if b"%PDF-" not in head:
        raise DocumentError(f"expected a PDF for a {_suffix(path)} file, but the content has no %PDF- "
                                       f"header (it is {describe_content(path)})", path=str(path))


def _zip_entry_count(path: Path) -> int | None:
    """The entry count in the end-of-central-directory record, read without parsing the directory."""
    with open(path, "rb") as fh:
        size = fh.seek(0, 2)
        fh.seek(max(0, size - (0xFFFF + 22)))
        tail = fh.read()
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) < at + 22:
        return None
    (count,) = struct.unpack("<H", tail[at + 10:at + 12])
    return None if count == 0xFFFF else count  # 0xFFFF: a ZIP64 count, read by zipfile below


def check_docx_package(path: Path, limits: ReadLimits | None = None) -> None:
    """A .docx must be a ZIP package with a Word main part, small enough to unpack (no ZIP bomb).

    Only the ZIP directory is read (declared sizes; Python's zipfile never inflates an entry past its
    declared size, and python-docx reads through it), so a bomb is refused before anything is inflated."""
    limits = limits or current_limits()
    p = str(path)
    try:
        with open(path, "rb") as fh:
            magic = fh.read(4)
        if magic != ZIP_MAGIC:
            raise DocumentError(f"expected a Word (.docx) document for a {_suffix(path)} file, but the content is "
                                   f"{describe_content(path)} (a .docx is a ZIP package)", path=p)
        count = _zip_entry_count(path)
    except OSError as exc:
        raise DocumentError(f"cannot read: {exc.strerror or exc}", path=p) from exc
    too_many = ("the .docx package has {n} files; at most {cap} are accepted (PA_MAX_DOCX_ENTRIES) — "
                "a ZIP bomb or not a Word document")
    if count is not None and count > limits.max_docx_entries:
        raise DocumentError(too_many.format(n=count, cap=limits.max_docx_entries), path=p)
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
            if len(infos) > limits.max_docx_entries:
                raise DocumentError(too_many.format(n=len(infos), cap=limits.max_docx_entries), path=p)
            total = sum(i.file_size for i in infos)
            if total > limits.max_docx_uncompressed_bytes:
                raise DocumentError(f"the .docx package unpacks to {_size(total)}; at most "
                                       f"{_size(limits.max_docx_uncompressed_bytes)} are accepted "
                                       "(PA_MAX_DOCX_UNCOMPRESSED_BYTES) — a ZIP bomb?", path=p)
            for info in infos:
                if info.file_size > DOCX_RATIO_MIN_BYTES:
                    ratio = info.file_size / max(info.compress_size, 1)
                    if ratio > limits.max_docx_compression_ratio:
                        raise DocumentError(f"the .docx part {info.filename!r} expands {ratio:.0f}-fold "
                                               f"({_size(info.compress_size)} -> {_size(info.file_size)}); at most "
                                               f"{limits.max_docx_compression_ratio:g}-fold is accepted "
                                               "(PA_MAX_DOCX_COMPRESSION_RATIO) — a ZIP bomb?", path=p)
            names = {i.filename for i in infos}
            if DOCX_MAIN in names:
                return
            ctype = next((i for i in infos if i.filename == "[Content_Types].xml"), None)
            if ctype is not None and ctype.file_size <= MB and _DOCX_MAIN_TYPE in zf.read(ctype):
                return  # a Word main part under another name
            other = next((desc for part, desc in _OTHER_OOXML.items() if part in names),
                         f"a ZIP package without {DOCX_MAIN}")
            raise DocumentError(f"expected a Word (.docx) document for a {_suffix(path)} file, but the content is "
                                   f"{other}", path=p)
    except DocumentError:
        raise
    except OSError as exc:  # its message would carry the path: say what happened only
        raise DocumentError(f"not a valid .docx file (damaged ZIP container: {exc.strerror or type(exc).__name__})", path=p) from exc
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError, NotImplementedError,
            RuntimeError, struct.error, UnicodeDecodeError) as exc:
        raise DocumentError(f"not a valid .docx file (damaged ZIP container: {exc})", path=p) from exc


# ----------------------------------------------------------------------------- shared helpers

_SPACES = re.compile(r"[ \t\u3000\xa0\u2002\u2003\u2009\u200b]+")


def clean_line(text: str) -> str:
    """One line of running text: no TAB (that would make it a table row), spaces collapsed."""
    return _SPACES.sub(" ", text.replace("\f", " ")).strip()


def clean_cell(text: str) -> str:
    """One table cell: internal newlines/TABs become a space."""
    return _SPACES.sub(" ", re.sub(r"\s*[\r\n\f\v]+\s*", " ", text)).strip()


def tab_row(cells: list[str]) -> str | None:
    cells = [clean_cell(c) for c in cells]
    if not any(cells):
        return None
    return "\t".join(cells)


def decode_text(raw: bytes, path: Path, preferred: str | None = None) -> str:
    """Declared/BOM encoding first, then UTF-8, then GB18030; DocumentError when none fits."""
    tried: list[str] = []
    bom = _bom_encoding(raw)
    order = [bom] if bom else []
    if preferred:
        order.append(preferred)
    order += ["utf-8", "gb18030"]
    for enc in order:
        if enc in tried:
            continue
        tried.append(enc)
        try:
            return raw.decode(enc)
        except (UnicodeError, LookupError):  # UnicodeError: idna/punycode fail with the base class
            continue
    raise DocumentError(f"not valid text in any of {', '.join(tried)} (binary data, or another encoding: "
                                   "save it as UTF-8)", path=str(path))


# ----------------------------------------------------------------------------- text and Markdown


class TextReader(BaseReader):
    """Plain text (UTF-8 with or without BOM, UTF-16 with BOM; GB18030 as a fallback), as it is.

    A `.md` file given to this reader is read as-is too (MarkdownReader converts Markdown)."""

    name = "text"
    suffixes: tuple[str, ...] = (".txt",)
    kinds = ("text",)

    def extract(self, path: Path) -> Extracted:
        try:
            raw = Path(path).read_bytes()
        except OSError as exc:
            raise DocumentError(f"cannot read: {exc.strerror or exc}", path=str(path)) from exc
        expected = "Markdown text" if _suffix(path) in MarkdownReader.suffixes else "plain text"
        check_text_bytes(raw, path, expected)
        text = decode_text(raw, path)
        check_text_chars(text, path, expected)
        text = text.removeprefix("\ufeff")
        return Extracted(text=text)


_MD_HEADING = re.compile(r"^\s{0,3}#{1,6}(?:\s+|$)(.*?)(?:\s+#+)?\s*$")
_MD_TABLE_SEP = re.compile(r"^\s*\|?\s*:?-{3,}:?\s*(?:\|\s*:?-{3,}:?\s*)*\|?\s*$")
_MD_RULE = re.compile(r"^\s{0,3}(?:[-*_]\s*){3,}$")
_MD_FENCE = re.compile(r"^\s{0,3}(```|~~~)")
_MD_LIST = re.compile(r"^\s*[-*+]\s+")
_MD_QUOTE = re.compile(r"^\s{0,3}>\s?")
_MD_IMAGE = re.compile(r"!\[([^\]]*)\]\([^)]*\)")
_MD_LINK = re.compile(r"\[([^\]]+)\]\([^)]*\)")
_MD_EMPH = re.compile(r"(\*\*|__)(.+?)\1")
_MD_CODE = re.compile(r"`([^`]+)`")
_HTML_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)


def _md_inline(text: str) -> str:
    text = _MD_IMAGE.sub(r"\1", text)
    text = _MD_LINK.sub(r"\1", text)
    text = _MD_EMPH.sub(r"\2", text)
    text = _MD_CODE.sub(r"\1", text)
    return text


def _md_cells(line: str) -> list[str]:
    line = line.strip()
    line = line.removeprefix("|")
    if line.endswith("|") and not line.endswith("\\|"):
        line = line[:-1]
    cells = re.split(r"(?<!\\)\|", line)
    return [_md_inline(c.replace("\\|", "|")) for c in cells]


def markdown_to_text(md: str) -> str:
    """Markdown -> segmenter text: heading markers dropped, pipe tables -> TAB rows, markup removed."""
    md = _HTML_COMMENT.sub("", md)
    lines = md.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    out: list[str] = []
    i = 0
    in_fence = False
    while i < len(lines):
        line = lines[i]
        if _MD_FENCE.match(line):
            in_fence = not in_fence
            i += 1
            continue
        if in_fence:
            out.append(clean_line(line))
            i += 1
            continue
        # a pipe table: a header line with `|`, then the |---| line, then rows with `|`
        if "|" in line and i + 1 < len(lines) and _MD_TABLE_SEP.match(lines[i + 1]) and "-" in lines[i + 1]:
            rows = [_md_cells(line)]
            i += 2
            while i < len(lines) and "|" in lines[i] and lines[i].strip():
                rows.append(_md_cells(lines[i]))
                i += 1
            for row in rows:
                if (r := tab_row(row)) is not None:
                    out.append(r)
            continue
        if m := _MD_HEADING.match(line):
            out.append(clean_line(_md_inline(m.group(1))))
        elif _MD_RULE.match(line) and line.strip():
            out.append("")
        else:
            line = _MD_QUOTE.sub("", line)
            line = _MD_LIST.sub("", line)
            out.append(clean_line(_md_inline(line)))
        i += 1
    return "\n".join(out).strip("\n") + "\n"


class MarkdownReader(BaseReader):
    name = "markdown"
    suffixes = (".md", ".markdown")
    kinds = ("text",)

    def extract(self, path: Path) -> Extracted:
        text = TextReader().extract(path).text
        try:
            return Extracted(text=markdown_to_text(text))
        except Exception as exc:  # never expected (regular expressions only); never let out
            raise DocumentError(f"the Markdown could not be read ({type(exc).__name__}: {exc})", path=str(path)) from exc


# ----------------------------------------------------------------------------- HTML

_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_\-]+)""", re.IGNORECASE)
_CHARSET_ALIASES = {"gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030", "cp936": "gb18030",
                    "gb_2312-80": "gb18030", "utf8": "utf-8"}
_NOT_PAGE_CHARSETS = {"idna", "punycode", "unicode-escape", "raw-unicode-escape", "unicode_escape",
                      "raw_unicode_escape", "undefined"}
_TITLE_SPLIT = re.compile(r"\s*(?:_|\s[-|–—]\s|\|)\s*")
_BLOCK_TAGS = {"p", "head", "quote", "code", "item", "list", "table", "div", "main", "doc", "section"}
_BOILERPLATE_TAGS = ("script", "style", "noscript", "nav", "header", "footer", "aside", "form", "iframe",
                     "button", "select", "template", "svg")
# class/id tokens of page furniture: `nav`, `main-nav`, `footer-links`, `header`… (not `article-header`)
_BOILERPLATE_TOKEN = re.compile(
    r"^(?:nav|navbar|menu|footer|foot|breadcrumbs?|crumbs?|sidebar|side|aside|topbar|top-bar|top|toolbar|share|"
    r"copyright|banner|login|search|links?|header|head|weizhi|dqwz)(?:[-_].*)?$"
    r"|^.*[-_](?:nav|navbar|menu|footer|breadcrumbs?|sidebar|share|copyright|links)$", re.IGNORECASE)


def html_charset(raw: bytes) -> str | None:
    if (bom := _bom_encoding(raw)) is not None:
        return bom
    if m := _META_CHARSET.search(raw[:4096]):
        name = m.group(1).decode("ascii", "ignore").lower()
        name = _CHARSET_ALIASES.get(name, name)
        try:
            info = codecs.lookup(name)
        except LookupError:
            return None
        # only a character set a web page can be written in (not base64/zlib/rot13, idna, unicode_escape…)
        if not getattr(info, "_is_text_encoding", True) or info.name in _NOT_PAGE_CHARSETS:
            return None
        return info.name
    return None


def _is_site_name(title: str) -> bool:
    """`测试市科学技术局` / `测试市人民政府门户网站`: a <title> that names the site, not the page."""
    from retrieval.header import looks_like_organ

    return bool(looks_like_organ(title) or re.search(r"(?:网站|门户|首页|网)$", title))


def clean_title(title: str | None) -> str | None:
    """`…的通知_政策文件_测试市科学技术局` -> `…的通知` (the longest part, site names dropped)."""
    if not title:
        return None
    title = clean_line(title)
    parts = [p for p in _TITLE_SPLIT.split(title) if p]
    if len(parts) > 1:
        title = max(parts, key=len)
    return title or None


def _element_text(el, breaks: set[str], blocks: set[str], skip: frozenset[str] = frozenset()) -> str:
    """An element's text, with a newline for each of `breaks` and around each of `blocks`; `skip`ped
    elements (and comments) give no text, only their tails."""
    parts: list[str] = []

    def walk(e) -> None:
        if e.text:
            parts.append(e.text)
        for child in e:
            if not isinstance(child.tag, str) or child.tag in skip:
                pass
            elif child.tag in breaks:
                parts.append("\n")
            elif child.tag in blocks:
                parts.append("\n")
                walk(child)
                parts.append("\n")
            else:
                walk(child)
            if child.tail:
                parts.append(child.tail)

    walk(el)
    return "".join(parts)


def _text_of(el) -> str:
    """An element's text with <lb/> (and block children such as a cell's <p>s) as newlines — trafilatura XML."""
    return _element_text(el, {"lb", "br"}, {"p", "head", "item", "list", "quote"})


LAYOUT_CELL_CHARS = 300  # a cell this long holds running text, not a value
LAYOUT_CELL_BLOCKS = 4  # a cell with this many paragraphs is a page region, not a value


def _is_layout_table(rows: list[list[tuple[str, int]]]) -> bool:
    """A table used for page layout (old government sites): one column, or cells full of paragraphs.

    rows: per row, per cell (text, number of block children)."""
    cells = [c for row in rows for c in row]
    if not cells:
        return True
    if all(len(row) <= 1 for row in rows):
        return True
    return any(len(text.strip()) > LAYOUT_CELL_CHARS or blocks >= LAYOUT_CELL_BLOCKS for text, blocks in cells)


def _xml_lines(el, out: list[str]) -> None:
    tag = el.tag if isinstance(el.tag, str) else ""
    if tag == "table":
        rows = [[c for c in row if c.tag == "cell"] for row in el.iter("row")]
        shape = [[(_text_of(c), sum(1 for b in c if b.tag in _BLOCK_TAGS)) for c in row] for row in rows]
        if _is_layout_table(shape):
            for row in rows:  # its cells are regions of the page: read them as running text
                for cell in row:
                    _xml_lines(cell, out)
            return
        for row in shape:
            if (r := tab_row([text for text, _ in row])) is not None:
                out.append(r)
        out.append("")
        return
    if tag in ("list",):
        for child in el:
            _xml_lines(child, out)
        return
    if tag in ("graphic", "comments", "fig"):
        return
    has_blocks = any(isinstance(c.tag, str) and c.tag in _BLOCK_TAGS for c in el)
    if not has_blocks:
        for line in _text_of(el).split("\n"):
            if line := clean_line(line):
                out.append(line)
        return
    if el.text and (t := clean_line(el.text)):
        out.append(t)
    for child in el:
        _xml_lines(child, out)
        if child.tail and (t := clean_line(child.tail)):
            out.append(t)


# page furniture that survives extraction on Chinese government sites, one line at a time
_FURNITURE_START = re.compile(r"^(?:当前位置|您当前的位置|您现在的位置|您的位置|所在位置|上一篇|下一篇|上一条|下一条|"
                              r"相关链接|相关文章|相关阅读|热点推荐|友情链接)\s*[:：>]?")
_FURNITURE_WORDS = re.compile(r"分享到|打印本页|关闭窗口|【打印】|【关闭】|字号[:：]|【字体|字体[:：]|收藏本页|扫一扫|"
                              r"浏览次数|访问量|阅读次数|点击数|点击量|版权所有|网站标识码|ICP备|备案号|主办单位|承办单位|"
                              r"技术支持[:：]|网站地图|联系我们|无障碍|长者模式|适老化")
_MENU_SEP = re.compile(r"\s*[|｜·•]\s*")


def is_furniture(line: str) -> bool:
    """A navigation/footer/share line (`当前位置：首页 > …`, `分享到：微信`, `首页 | 机构 | …`), not content."""
    if "\t" in line:
        return False
    if _FURNITURE_START.match(line):
        return True
    if len(line) < 120 and _FURNITURE_WORDS.search(line) and not line.endswith(("。", "；")):
        return True
    parts = [p for p in _MENU_SEP.split(line) if p]
    return len(parts) >= 3 and all(len(p) <= 8 and not re.search(r"[。，；]", p) for p in parts)


def _fallback_lines(tree) -> list[str]:
    """Without trafilatura's verdict: drop script/nav/header/footer/aside and nav-like classes, keep the rest."""
    body = tree.find(".//body")
    root = body if body is not None else tree
    for bad in list(root.iter(*_BOILERPLATE_TAGS)):
        if bad.getparent() is not None:
            bad.getparent().remove(bad)
    for el in list(root.iter()):
        if not isinstance(el.tag, str) or el.getparent() is None:
            continue
        tokens = f"{el.get('class', '')} {el.get('id', '')}".split()
        if any(_BOILERPLATE_TOKEN.match(t) for t in tokens):
            el.getparent().remove(el)
    out: list[str] = []
    block = {"p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "li", "section", "article", "main", "body", "ul",
             "ol", "dl", "dt", "dd", "blockquote", "pre", "center"}

    def walk(el) -> None:
        tag = el.tag if isinstance(el.tag, str) else ""
        if tag == "table":
            rows = [[c for c in tr if c.tag in ("td", "th")] for tr in el.iter("tr")
                    if tr.getparent() is el or tr.getparent().getparent() is el]  # not a nested table's rows
            shape = [[(_html_text(c), sum(1 for b in c if isinstance(b.tag, str) and b.tag in block | {"table"}))
                      for c in row] for row in rows]
            if _is_layout_table(shape):
                for row in rows:
                    for cell in row:
                        walk(cell)
                return
            for row in shape:
                if (r := tab_row([text for text, _ in row])) is not None:
                    out.append(r)
            return
        if not any(isinstance(c.tag, str) and (c.tag in block or c.tag == "table") for c in el):
            text = _html_text(el)
            for line in text.split("\n"):
                if line := clean_line(line):
                    out.append(line)
            return
        if el.text and (t := clean_line(el.text)):
            out.append(t)
        for child in el:
            walk(child)
            if child.tail and (t := clean_line(child.tail)):
                out.append(t)

    walk(root)
    return out


_HTML_BLOCKS = {"p", "div", "li", "ul", "ol", "dl", "dt", "dd", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "td", "th",
                "table", "section", "article", "blockquote", "pre", "header", "footer", "nav", "aside", "center"}


def _html_text(el) -> str:
    """An HTML element's text; <br> and block children (a cell's <p>s, table cells) become newlines."""
    return _element_text(el, {"br"}, _HTML_BLOCKS, frozenset({"script", "style"}))


SHORT_ARTICLE = 200  # characters: below this, trafilatura's article is checked against the whole page


class HtmlReader(BaseReader):
    """A saved web page: the article body (trafilatura drops navigation, menus, sidebars, footers).

    Paragraphs and headings -> lines; tables -> TAB rows (header first). The page <title> (site names
    dropped) or the first <h1> is the title candidate. Labelled fields anywhere on the page
    (发文字号：…, 成文日期：…, 发文机关：…) are returned as hints."""

    name = "html"
    suffixes = (".html", ".htm", ".xhtml")
    kinds = ("html", "text")  # a fragment without <html> is still HTML

    def decode(self, raw: bytes, path: Path) -> str:
        text = decode_text(raw, path, html_charset(raw))
        return text.removeprefix("\ufeff")

    def extract(self, path: Path) -> Extracted:
        try:
            raw = Path(path).read_bytes()
        except OSError as exc:
            raise DocumentError(f"cannot read: {exc.strerror or exc}", path=str(path)) from exc
        check_text_bytes(raw, path, "an HTML page")
        html = self.decode(raw, path)
        check_text_chars(html, path, "an HTML page")
        try:
            return self._extract_html(html, path)
        except DocumentError:
            raise
        except Exception as exc:  # lxml/trafilatura internals on a hostile page
            raise DocumentError(f"not a readable HTML page ({type(exc).__name__}: {exc})", path=str(path)) from exc

    def _extract_html(self, html: str, path: Path) -> Extracted:
        # lxml refuses str input that carries an encoding declaration; we decoded already
        html = re.sub(r"^\s*<\?xml[^>]*\?>", "", html)
        try:
            import lxml.html

            tree = lxml.html.document_fromstring(html) if html.strip() else None
        except Exception as exc:  # lxml.etree.ParserError and friends
            raise DocumentError(f"not a readable HTML page: {exc}", path=str(path)) from exc
        if tree is None:
            raise DocumentError("the document is empty", path=str(path))
        title = self._title(tree)
        h1 = next((t for h in tree.iter("h1") if 4 <= len(t := clean_line(h.text_content())) <= 120), None)
        if h1 and (title is None or len(title) < 6 or _is_site_name(title)):
            title = h1
        hints = self._hints(tree)
        lines = self._article_lines(html, path)
        lines = [line for line in lines if not is_furniture(line)]
        found = sum(len(line) for line in lines)
        if found < SHORT_ARTICLE:
            # nothing, or suspiciously little (a table-layout page trafilatura does not understand):
            # the page without its navigation, when that has clearly more to say
            fallback = [line for line in _fallback_lines(tree) if not is_furniture(line)]  # (modifies tree)
            if sum(len(line) for line in fallback) > max(3 * found, 20):
                log.info("%s: trafilatura found %s; using the page without navigation", path,
                         "no article body" if not lines else f"only {found} characters")
                lines = fallback
        text = "\n".join(lines).strip("\n")
        return Extracted(text=text + "\n" if text else "", title=title, hints=hints or None)

    @staticmethod
    def _title(tree) -> str | None:
        t = tree.find(".//title")
        return clean_title(t.text_content()) if t is not None else None

    @staticmethod
    def _hints(tree) -> dict[str, str]:
        from retrieval.header import detect_labelled

        body = tree.find(".//body")
        if body is None:
            return {}
        return detect_labelled(_html_text(body))

    @staticmethod
    def _article_lines(html: str, path: Path) -> list[str]:
        try:
            import trafilatura
            from lxml import etree

            xml = trafilatura.extract(html, output_format="xml", include_tables=True, include_formatting=False,
                                      include_comments=False, include_images=False, favor_recall=True,
                                      with_metadata=False)
        except Exception as exc:  # noqa: BLE001 - trafilatura/lxml internals: fall back to the simple walk
            log.warning("%s: trafilatura failed (%s); using the page without navigation", path, exc)
            return []
        if not xml:
            return []
        try:
            root = etree.fromstring(xml.encode("utf-8"))
        except etree.XMLSyntaxError as exc:
            log.warning("%s: trafilatura returned unreadable XML (%s)", path, exc)
            return []
        main = root.find("main")
        out: list[str] = []
        _xml_lines(main if main is not None else root, out)
        # collapse blank lines used as table separators
        lines: list[str] = []
        for line in out:
            if line or (lines and lines[-1]):
                lines.append(line)
        while lines and not lines[-1]:
            lines.pop()
        return lines


# ----------------------------------------------------------------------------- Word


class DocxReader(BaseReader):
    """Word .docx: the body in document order, paragraphs and tables interleaved.

    Paragraphs -> lines as typed (a heading style is just a line); automatic numbering that renders as
    `第一条` / `一、` / `（一）` / `1.` is written out; tables -> TAB rows (a merged cell is repeated,
    newlines inside a cell become a space). Page headers/footers are not read."""

    name = "docx"
    suffixes = (".docx",)
    kinds = ("docx",)

    def extract(self, path: Path) -> Extracted:
        try:
            import docx
            from docx.opc.exceptions import PackageNotFoundError
        except ImportError as exc:  # pragma: no cover - a declared dependency
            raise DocumentError(f"python-docx is not installed: {exc}", path=str(path)) from exc
        check_docx_package(path)  # a Word package, and no ZIP bomb: before python-docx inflates anything
        try:
            document = docx.Document(str(path))
        except PackageNotFoundError as exc:
            raise DocumentError(f"not a valid .docx file (damaged or not a Word package: {exc})", path=str(path)) from exc
        except zipfile.BadZipFile as exc:
            raise DocumentError(f"not a valid .docx file (damaged ZIP container: {exc})", path=str(path)) from exc
        except KeyError as exc:
            raise DocumentError(f"not a valid .docx file (missing part {exc})", path=str(path)) from exc
        except Exception as exc:  # lxml XMLSyntaxError, ValueError… from a damaged package
            raise DocumentError(f"not a valid .docx file ({type(exc).__name__}: {exc})", path=str(path)) from exc
        try:
            numbering = _Numbering(document)
            lines = list(self._body_lines(document, numbering))
        except DocumentError:
            raise
        except Exception as exc:
            raise DocumentError(f"the Word document could not be read ({type(exc).__name__}: {exc})", path=str(path)) from exc
        # core_properties.title is not used: it is often left over from the template the file was made from
        text = "\n".join(lines).strip("\n")
        return Extracted(text=text + "\n" if text else "")

    def _body_lines(self, document, numbering: _Numbering) -> Iterator[str]:
        from docx.table import Table
        from docx.text.paragraph import Paragraph

        body = document.element.body
        for el in self._block_elements(body):
            tag = el.tag.rsplit("}", 1)[-1]
            if tag == "p":
                para = Paragraph(el, document._body)
                prefix = numbering.label(para)
                text = para.text
                if prefix:
                    text = f"{prefix}{'' if prefix.endswith(('、', '）', ')')) else ' '}{text}"
                for line in text.split("\n"):
                    if line := clean_line(line):
                        yield line
            elif tag == "tbl":
                table = Table(el, document._body)
                rows = self._table_rows(table)
                if rows:
                    yield ""
                    yield from rows
                    yield ""

    @staticmethod
    def _block_elements(parent) -> Iterator:
        """w:p and w:tbl children in order, looking inside content controls (w:sdt) and w:customXml."""
        for child in parent.iterchildren():
            if not isinstance(child.tag, str):
                continue
            tag = child.tag.rsplit("}", 1)[-1]
            if tag in ("p", "tbl"):
                yield child
            elif tag in ("sdt", "sdtContent", "customXml", "ins", "smartTag"):
                yield from DocxReader._block_elements(child)

    @staticmethod
    def _table_rows(table) -> list[str]:
        rows: list[str] = []
        for row in table.rows:
            try:
                cells = [cell.text for cell in row.cells]
            except Exception:  # noqa: BLE001 - a malformed grid: read the cells as they are in the XML
                cells = ["".join(t.text or "" for t in tc.iter() if t.tag.endswith("}t"))
                         for tc in row._tr.iterchildren() if tc.tag.endswith("}tc")]
            cells = [c.replace("\n", " ") for c in cells]
            if (r := tab_row(cells)) is not None:
                rows.append(r)
        return rows


class _Numbering:
    """Automatic list numbering (w:numPr) rendered as text: `第%1条` -> `第三条`, `%1、` -> `一、`.

    Only the common formats are rendered (decimal, Chinese counting, letters, Roman); bullets render as
    nothing. Anything unexpected renders as nothing rather than failing the document."""

    def __init__(self, document):
        self.levels: dict[tuple[str, int], tuple[str, str, int]] = {}  # (numId, ilvl) -> (fmt, lvlText, start)
        self.counters: dict[tuple[str, int], int] = {}
        self.style_num: dict[str, tuple[str, int]] = {}
        try:
            self._load(document)
        except Exception as exc:  # noqa: BLE001 - no numbering part, or one we cannot parse
            log.debug("docx numbering not rendered: %s", exc)

    def _load(self, document) -> None:
        from docx.oxml.ns import qn

        part = document.part.numbering_part
        root = part.element
        abstract: dict[str, dict[int, tuple[str, str, int]]] = {}
        for an in root.findall(qn("w:abstractNum")):
            levels: dict[int, tuple[str, str, int]] = {}
            for lvl in an.findall(qn("w:lvl")):
                ilvl = int(lvl.get(qn("w:ilvl"), "0"))
                fmt_el, text_el, start_el = lvl.find(qn("w:numFmt")), lvl.find(qn("w:lvlText")), lvl.find(qn("w:start"))
                fmt = fmt_el.get(qn("w:val")) if fmt_el is not None else "decimal"
                text = text_el.get(qn("w:val")) if text_el is not None else ""
                start = int(start_el.get(qn("w:val"))) if start_el is not None else 1
                levels[ilvl] = (fmt, text or "", start)
            abstract[an.get(qn("w:abstractNumId"))] = levels
        for num in root.findall(qn("w:num")):
            ref = num.find(qn("w:abstractNumId"))
            if ref is None:
                continue
            for ilvl, spec in abstract.get(ref.get(qn("w:val")), {}).items():
                self.levels[(num.get(qn("w:numId")), ilvl)] = spec
        for style in document.styles.element.findall(qn("w:style")):
            ppr = style.find(qn("w:pPr"))
            numpr = ppr.find(qn("w:numPr")) if ppr is not None else None
            if numpr is not None and (nid := numpr.find(qn("w:numId"))) is not None:
                il = numpr.find(qn("w:ilvl"))
                self.style_num[style.get(qn("w:styleId"))] = (nid.get(qn("w:val")),
                                                              int(il.get(qn("w:val"))) if il is not None else 0)

    def label(self, para) -> str:
        if not self.levels:
            return ""
        try:
            from docx.oxml.ns import qn

            ppr = para._p.pPr
            num_id, ilvl = None, 0
            numpr = ppr.find(qn("w:numPr")) if ppr is not None else None
            if numpr is not None:
                nid, il = numpr.find(qn("w:numId")), numpr.find(qn("w:ilvl"))
                num_id = nid.get(qn("w:val")) if nid is not None else None
                ilvl = int(il.get(qn("w:val"))) if il is not None else 0
            elif ppr is not None and (ps := ppr.find(qn("w:pStyle"))) is not None:
                num_id, ilvl = self.style_num.get(ps.get(qn("w:val")), (None, 0))
            if not num_id or num_id == "0" or (num_id, ilvl) not in self.levels:
                return ""
            if not para.text.strip():
                return ""
            fmt, text, start = self.levels[(num_id, ilvl)]
            key = (num_id, ilvl)
            self.counters[key] = self.counters.get(key, start - 1) + 1
            for k in list(self.counters):  # a higher level restarts the deeper ones
                if k[0] == num_id and k[1] > ilvl:
                    del self.counters[k]
            if fmt in ("bullet", "none") or not text:
                return ""

            def render(m: re.Match) -> str:
                lv = int(m.group(1)) - 1
                lfmt, _t, lstart = self.levels.get((num_id, lv), (fmt, "", 1))
                return self._format(self.counters.get((num_id, lv), lstart), lfmt)

            return re.sub(r"%(\d)", render, text).strip()
        except Exception:  # noqa: BLE001 - odd numbering renders as nothing, never fails the document
            return ""

    @staticmethod
    def _format(n: int, fmt: str) -> str:
        if fmt in ("chineseCounting", "chineseCountingThousand", "chineseLegalSimplified", "ideographTraditional",
                   "taiwaneseCounting", "taiwaneseCountingThousand"):
            return chinese_number(n)
        if fmt == "decimalEnclosedCircleChinese" or fmt == "decimalEnclosedCircle":
            return chr(0x2460 + n - 1) if 1 <= n <= 20 else str(n)
        if fmt == "lowerLetter":
            return chr(ord("a") + (n - 1) % 26)
        if fmt == "upperLetter":
            return chr(ord("A") + (n - 1) % 26)
        if fmt in ("lowerRoman", "upperRoman"):
            vals = [(1000, "m"), (900, "cm"), (500, "d"), (400, "cd"), (100, "c"), (90, "xc"), (50, "l"),
                    (40, "xl"), (10, "x"), (9, "ix"), (5, "v"), (4, "iv"), (1, "i")]
            out, k = "", n
            for v, s in vals:
                while k >= v:
                    out, k = out + s, k - v
            return out.upper() if fmt == "upperRoman" else out
        if fmt == "decimalFullWidth":
            return "".join(chr(ord(c) + 0xFEE0) for c in str(n))
        return str(n)


# ----------------------------------------------------------------------------- PDF

NO_TEXT_LAYER = "the PDF has no text layer (scanned?): it needs OCR before it can be indexed"
MIN_PDF_CHARS = 20  # fewer non-space characters in the whole PDF: no text layer
MIN_PDF_CHARS_PER_PAGE = 10  # on average


class PdfReader(BaseReader):
    """PDF with a text layer (pypdf): the pages' text joined by `\\n\\f` (page count = number of `\\f` + 1).

    A scanned PDF (no text layer), an encrypted or a damaged one is a DocumentError saying so."""

    name = "pdf"
    suffixes = (".pdf",)
    kinds = ("pdf",)

    def extract(self, path: Path) -> Extracted:
        try:
            import pypdf
            from pypdf.errors import (
                DependencyError,
                FileNotDecryptedError,
                PdfReadError,
            )
        except ImportError as exc:  # pragma: no cover - a declared dependency
            raise DocumentError(f"pypdf is not installed: {exc}", path=str(path)) from exc
        logging.getLogger("pypdf").setLevel(logging.ERROR)  # pypdf warns about every quirk of a file
        limits = current_limits()
        started = time.monotonic()
        check_pdf_header(path)
        try:
            reader = pypdf.PdfReader(str(path), strict=False)
            if reader.is_encrypted:
                try:
                    ok = reader.decrypt("")
                except DependencyError as exc:
                    raise DocumentError(f"the PDF is encrypted and cannot be decrypted here ({exc}); "
                                                   "save an unprotected copy", path=str(path)) from exc
                if not ok:
                    raise DocumentError("the PDF is encrypted (password-protected): "
                                                   "save an unprotected copy to index it", path=str(path))
            pages = reader.pages
            n = len(pages)
        except DocumentError:
            raise
        except FileNotDecryptedError as exc:
            raise DocumentError(f"the PDF is encrypted (password-protected): {exc}", path=str(path)) from exc
        except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, IndexError, OSError,
                RecursionError, AssertionError) as exc:
            raise DocumentError(f"not a readable PDF (damaged?): {type(exc).__name__}: {exc}", path=str(path)) from exc
        except Exception as exc:
            raise DocumentError(f"not a readable PDF: {type(exc).__name__}: {exc}", path=str(path)) from exc
        if n == 0:
            raise DocumentError("the PDF has no pages (damaged?)", path=str(path))
        if n > limits.max_pdf_pages:
            raise DocumentError(f"the PDF has {n} pages; at most {limits.max_pdf_pages} are read "
                                           "(PA_MAX_PDF_PAGES): split it into smaller files", path=str(path))
        texts: list[str] = []
        failed: list[str] = []
        for i in range(n):
            if (spent := time.monotonic() - started) > limits.pdf_timeout_seconds:
                raise DocumentError(f"reading the PDF took longer than {limits.pdf_timeout_seconds:g} s "
                                               f"({spent:.1f} s, stopped before page {i + 1} of {n}; "
                                               "PA_PDF_TIMEOUT_SECONDS)", path=str(path))
            try:
                raw = pages[i].extract_text() or ""
            except Exception as exc:  # noqa: BLE001 - one bad page (broken font, stream…) is not the whole document
                failed.append(f"page {i + 1}: {type(exc).__name__}: {exc}")
                raw = ""
            texts.append(self._page_text(raw))
        chars = sum(len(re.sub(r"\s", "", t)) for t in texts)
        if chars < MIN_PDF_CHARS or chars / n < MIN_PDF_CHARS_PER_PAGE:
            if failed and len(failed) * 2 >= n:
                raise DocumentError("the PDF text could not be extracted (" + "; ".join(failed[:3]) + ")", path=str(path))
            raise DocumentError(NO_TEXT_LAYER, path=str(path))
        if failed:
            log.warning("%s: no text from %s", path, "; ".join(failed))
        return Extracted(text="\n\f".join(texts) + "\n", pages=n)

    @staticmethod
    def _page_text(raw: str) -> str:
        lines = [clean_line(line) for line in raw.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
        return "\n".join(lines).strip("\n")


# ----------------------------------------------------------------------------- registry

READERS: list[BaseReader] = [TextReader(), MarkdownReader(), HtmlReader(), DocxReader(), PdfReader()]


def supported_suffixes(readers: list | None = None) -> list[str]:
    return [s for r in (READERS if readers is None else readers) for s in r.suffixes]


def reader_for(path: Path, readers: list | None = None):
    suffix = Path(path).suffix.lower()
    for reader in READERS if readers is None else readers:
        if suffix in reader.suffixes:
            return reader
    return None


def extract(reader, path: Path) -> Extracted:
    """reader.extract(path) when it has one, else Extracted(reader.read(path)) (a plain Reader)."""
    fn = getattr(reader, "extract", None)
    if callable(fn):
        got = fn(path)
        return got if isinstance(got, Extracted) else Extracted(text=str(got))
    return Extracted(text=reader.read(path))
