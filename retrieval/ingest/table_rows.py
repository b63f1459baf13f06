"""A table block -> one citable sentence per row (a step of `retrieval.ingest.segment`).

`table_passages(block, caption, note, unit)`: `高新技术企业数(家)：2020年 4142；2025年目标 6000`. The header
row labels the values; a 序号 column numbers the row; a 单位 column's cell goes with the value it
measures; a unit line (`单位：万元`) or a caption's unit is added to every row, a footnote (`注：…`) to
the rows it concerns. No cell is dropped.
"""
from __future__ import annotations

import re

from retrieval.ingest.blocks import Block
from retrieval.text import normalize

SEQ_HEADERS = {"序号", "序", "编号"}
UNIT_HEADERS = ("单位", "计量单位", "金额单位", "补贴单位")
_HEADER_UNIT = re.compile(r"^(.*?)\s*[（(]\s*(万元|亿元|元|%|％|元/人/月|元/人|元/月|万元/年|个|家|人|项)\s*[)）]$")
_NUMERIC_VALUE = re.compile(r"^(?:最高|不超过|不高于|不低于|约)?\s*\d[\d,.]*$")


class _UnitColumns(set):
    """Columns headed 单位: their value belongs to the value column just before them."""

    def __init__(self, header: list[str]):
        super().__init__(i for i, h in enumerate(header) if i > 0 and normalize(h) in UNIT_HEADERS)

    def get_for(self, i: int) -> list[int]:
        return [j for j in self if j == i + 1]


def _row_texts(lead: str, cells: list[str], tail: str, max_chars: int | None) -> list[str]:
    """`name：cell；cell…（unit）`; a row wider than max_chars in several such texts, each led by the row's
    name (a 10,000-column row is not one huge passage). A single cell over the limit is cut by the segmenter."""
    groups = [cells]
    if max_chars and len(lead) + len("；".join(cells)) + len(tail) > max_chars:
        room = max(1, max_chars - len(lead) - len(tail))
        groups = [[]]
        for c in cells:
            if groups[-1] and len("；".join(groups[-1])) + 1 + len(c) > room:
                groups.append([])
            groups[-1].append(c)
    return [lead + "；".join(g) + tail for g in groups]


def table_passages(
    block: Block, caption: str | None, note: str | None, unit: str | None = None, max_chars: int | None = None
) -> list[tuple[int, str]]:
    """One natural sentence per row: `高新技术企业数(家)：2020年 4142；2025年目标 6000`.

    Returns (row index in block.rows, text). A 序号 first column is written as `1. <name>：…`; an
    empty name cell (a merged cell in Word/HTML) takes the name of the row above; a unit line
    (`单位：万元`) is added to every row so that values keep their unit. A 单位 column's cell goes with
    the value just before it (`20` + `万元`), or — right after the name column (`指标 | 单位 | 2020年`) —
    with every numeric value of the row; a unit with no value to take it is kept as a cell. No row is
    left empty and no cell is dropped (the header row labels the values). A row longer than `max_chars`
    is written as several texts, each with the row's name and a share of its cells.
    """
    header, *rows = block.rows
    if not rows:  # a single TAB-separated line: keep its cells
        text = "；".join(c for c in header if c)
        if text and unit:
            text += f"（{unit}）"
        if text and note:
            text += f"（注：{note}）"
        return [(0, text)] if text else []
    years = [re.fullmatch(r"\s*((?:19|20)\d\d)年?\s*", h) for h in header]
    target_col = None
    if caption and "目标" in caption:
        year_cols = [i for i, y in enumerate(years) if y and i > 0]
        target_col = max(year_cols, key=lambda i: int(years[i].group(1))) if year_cols else None
    marker = None
    if note and (m := re.match(r"标\s*(\S)\s*为", note)):
        marker = m.group(1)
        if not any(marker in c for row in rows for c in row[1:]):
            marker = None  # no value carries the mark: the note is about the whole table
    unit_cols = _UnitColumns(header)
    first = 0
    if len(header) > 2 and normalize(header[0]) in SEQ_HEADERS:
        first = 1  # 序号 | 名称 | …: the name is in the second column
    out = []
    last_name = ""
    for index, row in enumerate(rows, start=1):
        if not any(c.strip() for c in row):
            continue
        seq = row[0].strip().rstrip(".．、") if first else ""
        name = row[first].strip() if len(row) > first else ""
        if not name and last_name and any(c.strip() for c in row[first + 1:]):
            name = last_name  # a merged name cell spans several rows
        last_name = name or last_name
        cells = []
        # 指标 | 单位 | 2020年 | 2025年: a 单位 column right after the name is the unit of the row's values
        row_unit_col = first + 1 if first + 1 in unit_cols else None
        row_unit = row[row_unit_col].strip() if row_unit_col is not None and row_unit_col < len(row) else ""
        row_unit_used = False
        for i, value in enumerate(row[first + 1:], start=first + 1):
            value = value.strip()
            if not value:
                continue
            if i in unit_cols:
                if i == row_unit_col:
                    continue  # added to the values below (or kept as a cell when none takes it)
                if i - 1 not in unit_cols and row[i - 1].strip():
                    continue  # added to the value just before it
                # a unit with no value to go with: kept as a cell of its own, never dropped
            col = (header[i].strip() if i < len(header) else "") + ("目标" if i == target_col else "")
            unit_here = next((row[j].strip() for j in unit_cols.get_for(i) if j < len(row) and row[j].strip()), "")
            if not unit_here and (m := _HEADER_UNIT.match(col)) and _NUMERIC_VALUE.match(value):
                col, unit_here = m.group(1).strip(), m.group(2)  # 支持标准（万元） 10 -> 支持标准 10万元
            if not unit_here and row_unit and i not in unit_cols and _NUMERIC_VALUE.match(value):
                unit_here, row_unit_used = row_unit, True  # 高新技术企业数：2020年 4142家
            if unit_here and not value.endswith(unit_here):
                value += unit_here  # amounts and units together: 1500元/人/月, 20万元
            cells.append(f"{col} {value}" if col else value)
        if row_unit and not row_unit_used:  # no numeric value took the row's unit: say it once
            cells.insert(0, f"{header[row_unit_col].strip()} {row_unit}")
        lead = (f"{name}：" if cells else name) if name else ""
        if seq:
            lead = f"{seq}. {lead}"
        if not (lead + "；".join(cells)).strip():
            continue  # a row of punctuation only (`．` under 序号): nothing to cite
        tail = f"（{unit}）" if unit else ""
        if note and (marker is None or any(marker in c for c in row[1:])):
            tail += f"（注：{note}）"
        out += [(index, text) for text in _row_texts(lead, cells, tail, max_chars)]
    return out
