"""Readers: a file in corpus/ -> the plain text the segmenter reads.

The text contract (what `retrieval.ingest.segment` expects):
* one paragraph / heading per line (`第一章 总则`, `第八条 …`, `一、…`, `（一）…`, `1. …` stay as typed);
* a table is consecutive lines of TAB-separated cells, the header row first; TABs appear nowhere else
  (a TAB inside a paragraph becomes a space, a newline inside a cell becomes a space);
* PDF pages are separated by a form feed: page N+1 starts after the N-th `\\f` (the readers write
  `\\n\\f` so a page never shares a line with the next one).
`clean_line` and `tab_row` (retrieval.readers._text) write lines and rows that keep it.

The reader contract (`Reader`, the one every reader keeps): a `name`, the file `suffixes` it reads,
the `kinds` of content it accepts (what `sniff(path)` may say about such a file — the loader refuses
a PDF named `.docx` before any reader runs; `()` leaves that check to the reader) and
`extract(path, limits) -> Extracted` (the text, and a title candidate, page count or labelled
metadata when the format has them). Every failure inside a reader is a `DocumentError` with a reason a
person can act on; no library exception escapes. `limits` (`ReadLimits`, from the settings; None means
the built-in defaults) caps the work one file may cost: a .docx package's uncompressed size,
compression ratio and entry count, a PDF's page count and parse time.

Formats: plain text and Markdown (`TextReader`, `MarkdownReader`), HTML (`HtmlReader`, the article body
via trafilatura), Word (`DocxReader`, python-docx), PDF (`PdfReader`: pypdf's text layer, OCR for scanned
pages, pdfplumber for ruled tables), Excel (`XlsxReader`, openpyxl: every sheet as a table) and images
(`ImageReader`: .png/.jpg by OCR, RapidOCR); `reader_for(path)` picks one by suffix. Adding a format is one class and one `register` call, e.g. CSV files as tables:

    import csv
    from pathlib import Path
    from retrieval.readers import Extracted, Reader, register, tab_row

    class CsvReader(Reader):
        name = "csv"
        suffixes = (".csv",)
        kinds = ("text",)  # what sniff() says about a CSV file

        def extract(self, path, limits=None):
            rows = csv.reader(Path(path).read_text(encoding="utf-8").splitlines())
            return Extracted(text="".join(f"{row}\\n" for cells in rows if (row := tab_row(cells))))

    register(CsvReader())
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path

from typing import TYPE_CHECKING

from retrieval.readers._limits import ReadLimits
from retrieval.readers._sniff import KIND_NAMES, OLE2_MAGIC, describe_content, is_legacy_office, sniff

if TYPE_CHECKING:
    from retrieval.readers._layout import Span


@dataclass
class Extracted:
    """What a reader got from a file: the text, a title candidate (HTML <title>/<h1>), the page count
    (PDF), and labelled metadata seen outside the text (e.g. an HTML page's 发文字号 box).

    Scans and tables: `layout` (page number -> its lines with their boxes on the page, for the pages read
    by OCR or from a ruled table), `ocr_pages` (the pages whose text came from OCR) and `warnings`
    (what went wrong on some pages while the rest was read)."""

    text: str
    title: str | None = None
    pages: int | None = None
    hints: dict[str, str] | None = None
    layout: dict[int, list[Span]] | None = None
    ocr_pages: tuple[int, ...] = ()
    warnings: list[str] = field(default_factory=list)


class Reader(ABC):
    """The reader contract: name, suffixes, kinds and extract (see the module docstring)."""

    name: str = ""
    suffixes: tuple[str, ...] = ()  # lower case, with the dot: (".md", ".markdown")
    kinds: tuple[str, ...] = ()  # what sniff() may say about a file this reader accepts; () = any

    @abstractmethod
    def extract(self, path: Path, limits: ReadLimits | None = None) -> Extracted:
        """The file's text (and title, pages, hints) within limits; DocumentError when it cannot be read."""

    def read(self, path: Path, limits: ReadLimits | None = None) -> str:
        """Just the text of extract()."""
        return self.extract(Path(path), limits).text

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


# ----------------------------------------------------------------------------- the registry

READERS: list[Reader] = []


def register(reader: Reader) -> Reader:
    """Make reader the one for its suffixes (TypeError for what is not a Reader; ValueError when its
    name or one of its suffixes is taken)."""
    if not isinstance(reader, Reader):
        raise TypeError(f"register() takes a Reader, not {type(reader).__name__}")
    if not reader.name or not reader.suffixes or any(not s.startswith(".") or s != s.lower() for s in reader.suffixes):
        raise ValueError(f"{reader!r} needs a name and lower-case suffixes such as '.txt'")
    for other in READERS:
        if other.name == reader.name or set(other.suffixes) & set(reader.suffixes):
            raise ValueError(f"{reader!r} clashes with {other!r} (name {other.name!r}, suffixes {other.suffixes})")
    READERS.append(reader)
    return reader


def reader_for(path: Path) -> Reader | None:
    """The registered reader for path's suffix, None when no reader takes it."""
    suffix = Path(path).suffix.lower()
    return next((reader for reader in READERS if suffix in reader.suffixes), None)


def supported_suffixes() -> list[str]:
    """Every registered suffix, in registration order."""
    return [suffix for reader in READERS for suffix in reader.suffixes]


# The built-in readers build on the contract above, so they are imported after it.
from retrieval.readers._docx import DocxReader, check_docx_package  # noqa: E402
from retrieval.readers._html import HtmlReader, clean_title, is_furniture  # noqa: E402
from retrieval.readers._image import ImageReader  # noqa: E402
from retrieval.readers._layout import Span  # noqa: E402,F811
from retrieval.readers._ocr import reading_progress  # noqa: E402
from retrieval.readers._pdf import NO_TEXT_LAYER, PdfReader  # noqa: E402
from retrieval.readers._text import MarkdownReader, TextReader, clean_line, markdown_to_text, tab_row  # noqa: E402
from retrieval.readers._xlsx import XlsxReader  # noqa: E402

for _builtin in (TextReader(), MarkdownReader(), HtmlReader(), DocxReader(), PdfReader(), XlsxReader(), ImageReader()):
    register(_builtin)

__all__ = [
    "KIND_NAMES", "NO_TEXT_LAYER", "OLE2_MAGIC", "READERS", "DocxReader", "Extracted", "HtmlReader", "ImageReader",
    "MarkdownReader", "PdfReader", "ReadLimits", "Reader", "Span", "TextReader", "XlsxReader", "check_docx_package",
    "clean_line", "clean_title", "describe_content", "is_furniture", "is_legacy_office", "markdown_to_text",
    "reader_for", "reading_progress", "register", "sniff", "supported_suffixes", "tab_row",
]
