"""Excel workbooks (.xlsx, openpyxl): every sheet as a table of the text contract.

The package is checked like a .docx before it is opened (`check_package`: the ZIP directory only, the
PA_MAX_DOCX_* limits). Each sheet, in order: its name as a caption line (when the sheet has no title row
and its name is not a default such as `Sheet1`), the title and unit lines above the table (rows with one value, e.g. a title merged across
the columns, `单位：万元` — a unit goes into the headers of the numeric columns, `安家补贴（万元）`, so each row
says `安家补贴 15万元`), the table as TAB rows (header first), the notes under it (`注：…`). Merged cells
are filled with their value in every cell they cover, so each row carries its category. Numbers are
written as people read them: 30.0 -> 30, 0.15 formatted as a percentage -> 15%, dates as 2024-09-30.

Before the workbook is loaded, every sheet's XML is read as a stream (`check_sheet_sizes`): the extent of its
cells and its declared dimension, and the merged ranges (openpyxl makes an object for every cell a merge
covers: `A1:XFD1048576` in a 1.5 KB file would take all memory). A sheet over MAX_CELLS is refused naming
it, in the time it takes to read its XML, and nothing is loaded.
"""
from __future__ import annotations

import datetime as dt
import re
import zipfile
import zlib
from xml.etree.ElementTree import ParseError, iterparse
from pathlib import Path

from retrieval.ingest.blocks import UNIT_LINE_RE
from retrieval.errors import DocumentError
from retrieval.readers import Extracted, ReadLimits, Reader
from retrieval.readers._docx import check_package
from retrieval.readers._text import clean_cell, clean_line, tab_row, unit_into_header

MAX_CELLS = 500_000  # cells in all sheets: a larger workbook is a data dump, not a policy table
_DEFAULT_SHEET = re.compile(r"^(?:sheet|工作表)\s*\d*$", re.IGNORECASE)


def cell_text(value, number_format: str = "General") -> str:
    """One cell as people read it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ", timespec="minutes")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, (int, float)):
        if "%" in (number_format or ""):
            value = value * 100
            return f"{_number(value)}%"
        return _number(value)
    return clean_cell(str(value))


def _number(value: float) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return f"{value:.10g}" if isinstance(value, float) else str(value)


def _boundaries(ref: str) -> tuple[int, int, int, int] | None:
    """(min_col, min_row, max_col, max_row) of `A1` or `A1:J10`, None when it is not a reference."""
    from openpyxl.utils.cell import range_boundaries

    try:
        bounds = range_boundaries(ref if ":" in ref else f"{ref}:{ref}")
    except (ValueError, TypeError):
        return None
    return bounds if None not in bounds else None  # a whole column or row (`A:A`) is not a cell range


def _sheet_extent(stream) -> tuple[int, int, int, str]:
    """(rows, columns, merged cells, the largest merge) of one worksheet's XML, read as a stream."""
    rows = cols = row = col = merged = 0
    largest, largest_area = "", 0
    open_elements: list = []
    for event, el in iterparse(stream, events=("start", "end")):
        if event == "end":  # dropped once read: memory stays flat however long the sheet is
            open_elements.pop()
            if open_elements:
                open_elements[-1].remove(el)
            continue
        open_elements.append(el)
        tag = el.tag.rsplit("}", 1)[-1]
        ref = el.get("ref") or ""
        if tag == "row":
            row = int(el.get("r") or row + 1)
            col = 0
        elif tag == "c":
            bounds = _boundaries(el.get("r") or "")
            col, row = (bounds[0], bounds[1]) if bounds else (col + 1, max(row, 1))
            rows, cols = max(rows, row), max(cols, col)
        elif tag in ("dimension", "mergeCell") and (bounds := _boundaries(ref)):
            rows, cols = max(rows, bounds[3]), max(cols, bounds[2])
            if tag == "mergeCell":
                area = (bounds[2] - bounds[0] + 1) * (bounds[3] - bounds[1] + 1)
                merged += area
                if area > largest_area:
                    largest, largest_area = ref, area
    return rows, cols, merged, largest


def check_sheet_sizes(path: Path) -> None:
    """Refuse a workbook whose sheets span, or merge, more than MAX_CELLS cells, before it is loaded."""
    total = 0
    try:
        with zipfile.ZipFile(path) as zf:
            for name in sorted(n for n in zf.namelist() if re.fullmatch(r"xl/worksheets/[^/]+\.xml", n)):
                with zf.open(name) as stream:
                    rows, cols, merged, largest = _sheet_extent(stream)
                sheet = name.rsplit("/", 1)[-1]
                if merged > MAX_CELLS:
                    raise DocumentError(f"{sheet} merges {merged:,} cells (the largest merge {largest}); at most "
                                        f"{MAX_CELLS:,} cells are read (a data table, not a policy document?)",
                                        path=str(path))
                total += rows * cols
                if total > MAX_CELLS:
                    raise DocumentError(f"the workbook spans {total:,} cells ({sheet}: {rows:,} rows x {cols:,} "
                                        f"columns); at most {MAX_CELLS:,} are read (a data table, not a policy "
                                        "document?)", path=str(path))
    except (zipfile.BadZipFile, zlib.error, ParseError, ValueError, KeyError, OSError, EOFError) as exc:
        raise DocumentError(f"not a valid .xlsx file (damaged?): {type(exc).__name__}: {exc}", path=str(path)) from exc


def sheet_grid(ws) -> list[list[str]]:
    """The sheet's cells as text, merged cells filled with their value, empty rows and columns at the
    edges dropped."""
    grid = [[cell_text(c.value, c.number_format) for c in row] for row in ws.iter_rows()]
    for merged in ws.merged_cells.ranges:
        value = ""
        r0, c0 = merged.min_row - 1, merged.min_col - 1
        if r0 < len(grid) and c0 < len(grid[r0]):
            value = grid[r0][c0]
        for r in range(r0, min(merged.max_row, len(grid))):
            for c in range(c0, min(merged.max_col, len(grid[r]))):
                grid[r][c] = value
    width = max((max((i + 1 for i, v in enumerate(row) if v), default=0) for row in grid), default=0)
    return [row[:width] for row in grid]


def _single(row: list[str]) -> str | None:
    """The one value of a row whose filled cells all hold it (a title merged across), else None."""
    values = {v for v in row if v}
    return values.pop() if len(values) == 1 else None


def sheet_lines(name: str, grid: list[list[str]]) -> list[str]:
    """One sheet -> lines of the text contract (caption, titles and units, TAB rows, notes)."""
    rows = [row for row in grid if any(row)]
    lines = []
    start = 0
    while start < len(rows) and _single(rows[start]) is not None:
        lines.append(clean_line(_single(rows[start])))
        start += 1
    titled = any(not UNIT_LINE_RE.match(line) for line in lines)
    if not titled and not _DEFAULT_SHEET.match(name.strip()):
        lines.insert(0, clean_line(name))  # the sheet's name is the table's caption when it has no title
    end = len(rows)
    while end > start and _single(rows[end - 1]) is not None:
        end -= 1
    table = rows[start:end]
    if lines and (with_unit := unit_into_header(lines[-1], table)) is not None:
        lines.pop()  # `单位：万元` went into the numeric columns' headers
        table = with_unit
    lines += [row for r in table if (row := tab_row(r))]
    lines += [clean_line(_single(r)) for r in rows[end:]]
    return [line for line in lines if line]


class XlsxReader(Reader):
    """Excel .xlsx: every sheet as a table (see the module docstring). Old .xls files are refused."""

    name = "xlsx"
    suffixes = (".xlsx",)
    kinds = ("xlsx",)

    def extract(self, path: Path, limits: ReadLimits | None = None) -> Extracted:
        import openpyxl

        path = Path(path)
        check_package(path, ReadLimits() if limits is None else limits, "xlsx")  # before anything is inflated
        check_sheet_sizes(path)  # before the workbook is loaded (a merged range becomes an object per cell)
        try:
            wb = openpyxl.load_workbook(path, read_only=False, data_only=True)
        except (zipfile.BadZipFile, KeyError, ValueError, TypeError, OSError, EOFError) as exc:
            raise DocumentError(f"not a valid .xlsx file (damaged?): {type(exc).__name__}: {exc}", path=str(path)) from exc
        except Exception as exc:  # noqa: BLE001 - openpyxl's XML errors and the like
            raise DocumentError(f"not a readable .xlsx file: {type(exc).__name__}: {exc}", path=str(path)) from exc
        try:
            cells = sum((ws.max_row or 0) * (ws.max_column or 0) for ws in wb.worksheets)
            if cells > MAX_CELLS:
                raise DocumentError(f"the workbook has {cells} cells; at most {MAX_CELLS} are read (a data table, "
                                    "not a policy document?)", path=str(path))
            lines = [line for ws in wb.worksheets for line in sheet_lines(ws.title, sheet_grid(ws))]
        finally:
            wb.close()
        if not lines:
            raise DocumentError("the workbook has no filled cells", path=str(path))
        return Extracted(text="\n".join(lines) + "\n", title=None)
