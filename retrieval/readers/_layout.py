"""Page layout: positioned pieces of text -> lines of the text contract in reading order, with their boxes.

The pieces are what a page gives: OCR boxes (pixels) or a PDF text layer's lines (points), plus the rows
of tables found on the page. `lay_out(pieces, width, height, tables)`:
* rows: pieces whose vertical centres are within half a line of each other (a slightly rotated scan
  still gives one row per line), read left to right; pieces far apart in a row are separate cells;
* paragraphs: a row continues the one above when that one runs to the right margin, this one is not
  indented (Chinese paragraphs open two characters in), the line pitch is ordinary and it does not open a
  block of its own (`第八条`, `一、`, `（一）` …);
* tables: two or more consecutive rows of separate cells (an OCR'd table), or a table found by the PDF
  reader (its rows given), become TAB rows of the text contract;
* every line gets its box as fractions of the page (x0, y0, x1, y1), so a citation can be shown on the
  page image.
"""
from __future__ import annotations

import statistics
from dataclasses import dataclass, field

from retrieval.ingest.blocks import starts_block
from retrieval.readers._text import clean_cell, clean_line, tab_row

CELL_GAP = 1.5  # a gap wider than this many line heights separates two cells of a row
FULL_LINE = 1.5  # a row ending within this many line heights of the right margin runs to it
INDENT = 1.0  # a row starting more than this many line heights right of the left margin is indented
MAX_PITCH = 2.6  # rows further apart than this many line heights never continue one another


@dataclass(frozen=True)
class Piece:
    """A piece of text where it sits on the page (any unit); `h` its line height when not y1 - y0 (the
    bounding box of a rotated line is taller than the line)."""

    text: str
    x0: float
    y0: float
    x1: float
    y1: float
    h: float = 0.0

    @property
    def height(self) -> float:
        return self.h or (self.y1 - self.y0)

    @property
    def cy(self) -> float:
        return (self.y0 + self.y1) / 2


Box = tuple[float, float, float, float]


@dataclass(frozen=True)
class Span:
    """One line of the text contract (a paragraph or a TAB row) and its box as fractions of the page."""

    text: str
    box: Box

    def to_json(self) -> list:
        return [self.text, *(round(v, 4) for v in self.box)]

    @classmethod
    def from_json(cls, data: list) -> "Span":
        text, *box = data
        return cls(str(text), tuple(float(v) for v in box))  # type: ignore[arg-type]


@dataclass
class _Row:
    pieces: list[Piece] = field(default_factory=list)

    @property
    def box(self) -> Box:
        return _union([(p.x0, p.y0, p.x1, p.y1) for p in self.pieces])

    @property
    def x0(self) -> float:
        return self.box[0]

    @property
    def x1(self) -> float:
        return self.box[2]

    @property
    def cy(self) -> float:
        return statistics.fmean(p.cy for p in self.pieces)

    @property
    def h(self) -> float:
        return statistics.median(p.height for p in self.pieces)

    def cells(self) -> list[str]:
        """The row's text, split where the pieces are far apart."""
        ordered = sorted(self.pieces, key=lambda p: p.x0)
        cells = [ordered[0].text]
        for left, right in zip(ordered, ordered[1:]):
            if right.x0 - left.x1 > CELL_GAP * self.h:
                cells.append(right.text)
            else:
                cells[-1] = join_text(cells[-1], right.text)
        return [c for c in (clean_cell(c) for c in cells)]


def join_text(left: str, right: str) -> str:
    """Two pieces of text: a space only between Latin words (`Article` `5`), never in Chinese, nor inside a
    number wrapped onto the next line (`200` `0元`)."""
    a, b = left[-1:], right[:1]
    if a.isascii() and a.isalnum() and b.isascii() and b.isalnum() and not (a.isdigit() and b.isdigit()):
        return f"{left} {right}"
    return left + right


def _rows(pieces: list[Piece]) -> list[_Row]:
    rows: list[_Row] = []
    for piece in sorted(pieces, key=lambda p: p.cy):
        row = rows[-1] if rows else None
        if row is not None and abs(piece.cy - row.cy) <= 0.5 * min(piece.height, row.h):
            row.pieces.append(piece)
        else:
            rows.append(_Row([piece]))
    return rows


def _union(boxes: list[Box]) -> Box:
    return (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))


def _margins(rows: list[_Row]) -> tuple[float, float]:
    """The page's left and right text margins (from the rows of running text)."""
    text_rows = [r for r in rows if len(r.cells()) == 1 and len(r.cells()[0]) >= 6] or rows
    xs0 = sorted(r.x0 for r in text_rows)
    xs1 = sorted(r.x1 for r in text_rows)
    return xs0[len(xs0) // 5], xs1[(len(xs1) * 4) // 5]


def lay_out(pieces: list[Piece], width: float, height: float,
            tables: list[tuple[Box, list[tuple[Box, list[str]]]]] | None = None) -> list[Span]:
    """The page's lines of the text contract in reading order, each with its box (fractions of the page).

    `tables`: tables already found on the page — (table box, [(row box, cells)]) in the pieces' unit; the
    pieces should not include their text."""
    width, height = max(width, 1e-6), max(height, 1e-6)

    def norm(box: Box) -> Box:
        return (max(0.0, box[0] / width), max(0.0, box[1] / height), min(1.0, box[2] / width), min(1.0, box[3] / height))

    pieces = [p for p in pieces if clean_line(p.text)]
    rows = _rows(pieces)
    out: list[tuple[float, Span]] = []  # (top, span): text and tables merged by position
    if rows:
        left, right = _margins(rows)
        pitch_h = statistics.median(r.h for r in rows)
        i = 0
        while i < len(rows):
            j = i
            while j < len(rows) and len(rows[j].cells()) > 1:
                j += 1
            if j - i >= 2:  # consecutive rows of separate cells: a table
                for row in rows[i:j]:
                    if text := tab_row(row.cells()):
                        out.append((row.box[1], Span(text, norm(row.box))))
                i = j
                continue
            row = rows[i]
            text = clean_line(" ".join(row.cells()))
            prev = out[-1] if out else None
            if (
                prev is not None and i > 0 and "\t" not in prev[1].text
                and _continues(rows[i - 1], row, left, right, pitch_h)
                and not starts_block(text, prev[1].text)
            ):
                joined = join_text(prev[1].text, text)
                out[-1] = (prev[0], Span(joined, _union([prev[1].box, norm(row.box)])))
            else:
                out.append((row.box[1], Span(text, norm(row.box))))
            i += 1
    for table_box, table_rows in tables or []:
        for row_box, cells in table_rows:
            if text := tab_row(cells):
                out.append((row_box[1], Span(text, norm(row_box))))
    out.sort(key=lambda t: t[0])  # stable: a paragraph keeps its place before the table under it
    return [span for _top, span in out]


def _continues(prev: _Row, row: _Row, left: float, right: float, h: float) -> bool:
    """`row` continues the paragraph of `prev` (see the module docstring)."""
    if len(prev.cells()) > 1 or len(row.cells()) > 1:
        return False
    return (
        row.cy - prev.cy <= MAX_PITCH * h
        and prev.x1 >= right - FULL_LINE * h
        and row.x0 <= left + INDENT * h
    )
