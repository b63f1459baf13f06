"""Word (.docx): the body in document order, paragraphs and tables interleaved (python-docx).

`check_docx_package` looks at the ZIP directory only (declared sizes, entry count, compression ratio,
the Word main part) before python-docx opens the file, so a ZIP bomb is refused before anything is
inflated. `_Numbering` writes out Word's automatic list numbering (`第%1条` -> `第三条`, `%1、` -> `一、`).
"""
from __future__ import annotations

import logging
import re
import struct
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from retrieval.ingest.cnparse import chinese_number
from retrieval.errors import DocumentError
from retrieval.readers import Extracted, ReadLimits, Reader
from retrieval.readers._limits import DOCX_RATIO_MIN_BYTES, MB, size_text
from retrieval.readers._sniff import ZIP_MAGIC, describe_content, suffix_of
from retrieval.readers._text import clean_line, tab_row

log = logging.getLogger(__name__)

DOCX_MAIN = "word/document.xml"


@dataclass(frozen=True)
class _Package:
    """What an Office Open XML package of one kind must hold, and how messages name it."""

    suffix: str  # .docx
    what: str  # a Word (.docx) document
    main: str  # its main part
    main_type: bytes  # the main part's content type (when it has another name)
    others: dict[str, str]  # main parts of the other kinds -> what the content is instead


PACKAGES = {
    "docx": _Package(".docx", "a Word (.docx) document", DOCX_MAIN, b"wordprocessingml.document.main+xml",
                     {"xl/workbook.xml": "an Excel workbook (.xlsx), not a Word document",
                      "ppt/presentation.xml": "a PowerPoint presentation (.pptx), not a Word document"}),
    "xlsx": _Package(".xlsx", "an Excel (.xlsx) workbook", "xl/workbook.xml", b"spreadsheetml.sheet.main+xml",
                     {DOCX_MAIN: "a Word document (.docx), not an Excel workbook",
                      "ppt/presentation.xml": "a PowerPoint presentation (.pptx), not an Excel workbook"}),
}

# ----------------------------------------------------------------------------- the package


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


def check_docx_package(path: Path, limits: ReadLimits) -> None:
    """A .docx must be a ZIP package with a Word main part, small enough to unpack (no ZIP bomb)."""
    check_package(path, limits, "docx")


def check_package(path: Path, limits: ReadLimits, kind: str) -> None:
    """A .docx / .xlsx (`kind`) must be a ZIP package with its main part, small enough to unpack (no ZIP
    bomb; the PA_MAX_DOCX_* limits apply to both).

    Only the ZIP directory is read (declared sizes; Python's zipfile never inflates an entry past its
    declared size, and python-docx / openpyxl read through it), so a bomb is refused before anything is
    inflated."""
    pkg = PACKAGES[kind]
    p = str(path)
    try:
        with open(path, "rb") as fh:
            magic = fh.read(4)
        if magic != ZIP_MAGIC:
            raise DocumentError(f"expected {pkg.what} for a {suffix_of(path)} file, but the content is "
                                   f"{describe_content(path)} (a {pkg.suffix} is a ZIP package)", path=p)
        count = _zip_entry_count(path)
    except OSError as exc:
        raise DocumentError(f"cannot read: {exc.strerror or exc}", path=p) from exc
    too_many = ("the " + pkg.suffix + " package has {n} files; at most {cap} are accepted (PA_MAX_DOCX_ENTRIES) — "
                "a ZIP bomb or not " + pkg.what)
    if count is not None and count > limits.max_docx_entries:
        raise DocumentError(too_many.format(n=count, cap=limits.max_docx_entries), path=p)
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
            if len(infos) > limits.max_docx_entries:
                raise DocumentError(too_many.format(n=len(infos), cap=limits.max_docx_entries), path=p)
            total = sum(i.file_size for i in infos)
            if total > limits.max_docx_uncompressed_bytes:
                raise DocumentError(f"the {pkg.suffix} package unpacks to {size_text(total)}; at most "
                                       f"{size_text(limits.max_docx_uncompressed_bytes)} are accepted "
                                       "(PA_MAX_DOCX_UNCOMPRESSED_BYTES) — a ZIP bomb?", path=p)
            for info in infos:
                if info.file_size > DOCX_RATIO_MIN_BYTES:
                    ratio = info.file_size / max(info.compress_size, 1)
                    if ratio > limits.max_docx_compression_ratio:
                        raise DocumentError(f"the {pkg.suffix} part {info.filename!r} expands {ratio:.0f}-fold "
                                               f"({size_text(info.compress_size)} -> {size_text(info.file_size)}); at most "
                                               f"{limits.max_docx_compression_ratio:g}-fold is accepted "
                                               "(PA_MAX_DOCX_COMPRESSION_RATIO) — a ZIP bomb?", path=p)
            names = {i.filename for i in infos}
            if pkg.main in names:
                return
            ctype = next((i for i in infos if i.filename == "[Content_Types].xml"), None)
            if ctype is not None and ctype.file_size <= MB and pkg.main_type in zf.read(ctype):
                return  # the main part under another name
            other = next((desc for part, desc in pkg.others.items() if part in names),
                         f"a ZIP package without {pkg.main}")
            raise DocumentError(f"expected {pkg.what} for a {suffix_of(path)} file, but the content is "
                                   f"{other}", path=p)
    except DocumentError:
        raise
    except OSError as exc:  # its message would carry the path: say what happened only
        raise DocumentError(f"not a valid {pkg.suffix} file (damaged ZIP container: {exc.strerror or type(exc).__name__})", path=p) from exc
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError, NotImplementedError,
            RuntimeError, struct.error, UnicodeDecodeError, zlib.error) as exc:
        raise DocumentError(f"not a valid {pkg.suffix} file (damaged ZIP container: {exc})", path=p) from exc


# ----------------------------------------------------------------------------- the reader


class DocxReader(Reader):
    """Word .docx: the body in document order, paragraphs and tables interleaved.

    Paragraphs -> lines as typed (a heading style is just a line); automatic numbering that renders as
    `第一条` / `一、` / `（一）` / `1.` is written out; tables -> TAB rows (a merged cell is repeated,
    newlines inside a cell become a space). Page headers/footers are not read."""

    name = "docx"
    suffixes = (".docx",)
    kinds = ("docx",)

    def extract(self, path: Path, limits: ReadLimits | None = None) -> Extracted:
        try:
            import docx
            from docx.opc.exceptions import PackageNotFoundError
        except ImportError as exc:  # pragma: no cover - a declared dependency
            raise DocumentError(f"python-docx is not installed: {exc}", path=str(path)) from exc
        # a Word package, and no ZIP bomb: before python-docx inflates anything
        check_docx_package(path, ReadLimits() if limits is None else limits)
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
