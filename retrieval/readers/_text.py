"""Plain text and Markdown, and the line helpers every reader writes the text contract with.

`clean_line` (one line of running text, no TAB), `tab_row` (one table row, TAB-separated cells),
`decode_text` (BOM / declared / UTF-8 / GB18030), `check_text_bytes` and `check_text_chars` (text
that is binary data after all). `TextReader` reads .txt as it is; `MarkdownReader` converts .md
(`markdown_to_text`: heading markers dropped, pipe tables -> TAB rows, markup removed).
"""
from __future__ import annotations

import re
from pathlib import Path

from retrieval.errors import DocumentError
from retrieval.readers import Extracted, ReadLimits, Reader
from retrieval.readers._sniff import (
    OLE2_MAGIC,
    PDF_HEADER_WINDOW,
    SNIFF_BYTES,
    ZIP_MAGIC,
    bom_encoding,
    suffix_of,
)

# ----------------------------------------------------------------------------- line helpers

_SPACES = re.compile(r"[ \t\u3000\xa0\u2002\u2003\u2009\u200b]+")
_TEXT_CONTROLS = re.compile(r"[\x00-\x08\x0e-\x1a\x1c-\x1f\x7f]")  # C0 controls text never has (TAB, LF, CR, FF, VT, ESC are fine)
MAX_CONTROL_SHARE = 0.05  # more control characters than this (of the first 64K characters): binary data


def clean_line(text: str) -> str:
    """One line of running text: no TAB (that would make it a table row), spaces collapsed."""
    return _SPACES.sub(" ", text.replace("\f", " ")).strip()


def clean_cell(text: str) -> str:
    """One table cell: internal newlines/TABs become a space."""
    return _SPACES.sub(" ", re.sub(r"\s*[\r\n\f\v]+\s*", " ", text)).strip()


def tab_row(cells: list[str]) -> str | None:
    """One table row of the text contract (TAB-separated cells); None when every cell is empty."""
    cells = [clean_cell(c) for c in cells]
    if not any(cells):
        return None
    return "\t".join(cells)


HEADER_UNITS = ("万元", "亿元", "元", "%", "％", "元/人/月", "元/人", "元/月", "万元/年", "个", "家", "人", "项")
_UNIT_LINE = re.compile(r"^[（(]?\s*单位\s*[:：]\s*([^）)]+?)\s*[）)]?$")
_NUMBER_CELL = re.compile(r"^(?:最高|不超过|不高于|不低于|约)?\s*\d[\d,.]*$")


def unit_into_header(unit_line: str, rows: list[list[str]]) -> list[list[str]] | None:
    """A table under a unit line (`单位：万元`) with the unit moved into the headers of its numeric columns
    (`支持标准` -> `支持标准（万元）`), so every row says `支持标准 30万元`; None when the line is not such a
    unit or no column is numeric (the line then stays where it is)."""
    m = _UNIT_LINE.match(unit_line.strip())
    if not m or m.group(1).strip() not in HEADER_UNITS or len(rows) < 2:
        return None
    unit = m.group(1).strip()
    header = rows[0]
    numeric = {i for i in range(1, len(header))
               if any(i < len(r) and _NUMBER_CELL.match(r[i].strip()) for r in rows[1:])}
    if not numeric:
        return None
    return [[f"{h}（{unit}）" if i in numeric and h and not h.endswith(("）", ")")) else h
             for i, h in enumerate(header)]] + rows[1:]


def read_bytes(path: Path) -> bytes:
    """The file's bytes; DocumentError when it cannot be read."""
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise DocumentError(f"cannot read: {exc.strerror or exc}", path=str(path)) from exc


def decode_text(raw: bytes, path: Path, preferred: str | None = None) -> str:
    """Declared/BOM encoding first, then UTF-8, then GB18030; DocumentError when none fits."""
    tried: list[str] = []
    bom = bom_encoding(raw)
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
    elif bom_encoding(raw) != "utf-16" and b"\x00" in raw:
        what = "binary data (NUL bytes)"
    if what:
        raise DocumentError(f"expected {expected} for a {suffix_of(path)} file, but the content is {what}", path=str(path))


def check_text_chars(text: str, path: Path, expected: str) -> None:
    """DocumentError when decoded text is binary data after all (NUL or many other control characters)."""
    sample = text[:SNIFF_BYTES]
    if "\x00" in text:
        raise DocumentError(f"expected {expected} for a {suffix_of(path)} file, but the content is "
                                       "binary data (NUL characters)", path=str(path))
    controls = len(_TEXT_CONTROLS.findall(sample))
    if controls and controls > MAX_CONTROL_SHARE * len(sample):
        raise DocumentError(f"expected {expected} for a {suffix_of(path)} file, but the content is "
                                       f"binary data ({controls} control characters in {len(sample)})", path=str(path))


# ----------------------------------------------------------------------------- plain text


class TextReader(Reader):
    """Plain text (UTF-8 with or without BOM, UTF-16 with BOM; GB18030 as a fallback), as it is.

    A `.md` file given to this reader is read as-is too (MarkdownReader converts Markdown)."""

    name = "text"
    suffixes: tuple[str, ...] = (".txt",)
    kinds = ("text",)

    def extract(self, path: Path, limits: ReadLimits | None = None) -> Extracted:
        raw = read_bytes(path)
        expected = "Markdown text" if suffix_of(path) in MarkdownReader.suffixes else "plain text"
        check_text_bytes(raw, path, expected)
        text = decode_text(raw, path)
        check_text_chars(text, path, expected)
        text = text.removeprefix("\ufeff")
        return Extracted(text=text)


# ----------------------------------------------------------------------------- Markdown

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


class MarkdownReader(Reader):
    """Markdown (.md): read as text, then converted by `markdown_to_text`."""

    name = "markdown"
    suffixes = (".md", ".markdown")
    kinds = ("text",)

    def extract(self, path: Path, limits: ReadLimits | None = None) -> Extracted:
        text = TextReader().extract(path, limits).text
        try:
            return Extracted(text=markdown_to_text(text))
        except Exception as exc:  # never expected (regular expressions only); never let out
            raise DocumentError(f"the Markdown could not be read ({type(exc).__name__}: {exc})", path=str(path)) from exc
