"""A document as a reader sees it, with its passages located in it: what the citation view renders.

    find_source(corpus_dir, doc_id)    # the file in corpus/ that is doc_id (found by walking corpus/, never
                                       # a path from a request); None when there is none
    outline(doc, passages)             # [Item]: title, headings, paragraphs, tables, page marks, each
                                       # paragraph with the passages it holds, each table row with its passage

The blocks are the segmenter's (`repair_blocks`: lines joined again, tables as rows, the page each starts
on). A passage is found in them by its text: a paragraph passage is a piece of a block (or, for an
article packed from several lines, a piece of each), a table-row passage is the row whose every filled
cell it names.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from retrieval.ingest.blocks import (
    ARTICLE_RE, BOX_RE, CHAPTER_RE, L1_RE, L2_RE, L3_RE, SECTION_RE, attachment, is_doc_title, is_heading, repair_blocks,
)
from retrieval.ingest.documents import SKIP_PREFIXES, Document, _slug, reader_for
from retrieval.passage import Passage
from retrieval.ingest.sidecar import SIDECAR_SUFFIXES, find_sidecar, read_sidecar


@dataclass
class Item:
    """One thing on the page: kind title | heading | paragraph | table | page (a page mark)."""

    kind: str
    text: str = ""
    level: int = 0  # headings: 2 (一、 / 第X章 / 附件), 3 (（一） / 第X节), 4 (1. / 专栏)
    page: int = 1
    rows: list[list[str]] = field(default_factory=list)
    marks: list[tuple[int, int, str]] = field(default_factory=list)  # paragraphs: (start, end, passage id)
    row_marks: dict[int, str] = field(default_factory=dict)  # tables: row index -> passage id


def find_source(corpus_dir: Path, doc_id: str) -> Path | None:
    """The document file in corpus_dir whose doc_id (its sidecar's, else its file name's) is doc_id; only
    files inside corpus_dir (symbolic links leading out of it are not followed)."""
    root = Path(corpus_dir).resolve()
    if not root.is_dir():
        return None
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).parts
        if any(part.startswith(SKIP_PREFIXES) for part in rel) or path.name.lower().endswith(SIDECAR_SUFFIXES):
            continue
        if not path.is_file() or reader_for(path) is None:
            continue
        try:
            sidecar = find_sidecar(path)
            own = (read_sidecar(sidecar) if sidecar else {}).get("doc_id")
        except Exception:  # noqa: BLE001 - a bad sidecar: that document is not indexed anyway
            continue
        if str(own or _slug(path.stem)) == doc_id:
            real = path.resolve()
            return real if real.is_relative_to(root) and real.is_file() else None
    return None


def _level(text: str) -> int | None:
    if attachment(text) or CHAPTER_RE.match(text) or L1_RE.match(text):
        return 2
    if SECTION_RE.match(text) or L2_RE.match(text):
        return 3
    if BOX_RE.match(text) or L3_RE.match(text):
        return 4
    return None


def _flat(text: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


def outline(doc: Document, passages: list[Passage]) -> list[Item]:
    """The document's items in order, page marks between pages, the passages located (see above)."""
    blocks = repair_blocks(doc.text, title=doc.title)
    paged = "\f" in doc.text
    items: list[Item] = []
    page = 0
    for block in blocks:
        if paged and block.page != page:
            page = block.page
            items.append(Item("page", page=page))
        if block.kind == "table":
            items.append(Item("table", rows=block.rows, page=block.page))
        elif not any(i.kind == "title" for i in items) and is_doc_title(block.text, doc.title):
            items.append(Item("title", block.text, page=block.page))
        elif is_heading(block.text) and not ARTICLE_RE.match(block.text) and (level := _level(block.text)):
            items.append(Item("heading", block.text, level=level, page=block.page))
        else:
            items.append(Item("paragraph", block.text, page=block.page))
    _locate(items, sorted(passages, key=lambda p: p.order))
    return items


def _locate(items: list[Item], passages: list[Passage]) -> None:
    """Mark each passage where it is: rows of tables, pieces of paragraphs (searching on from the last)."""
    cursor = 0
    for p in passages:
        if p.kind == "table_row":
            found = _find_row(items, p.text, cursor)
            if found is not None:
                cursor = found[0]
                items[found[0]].row_marks.setdefault(found[1], p.id)
            continue
        for line in (x.strip() for x in p.text.split("\n") if x.strip()):
            at = _find_text(items, line, cursor, p.id)
            if at is not None:
                cursor = at


def _from(start: int, n: int) -> list[int]:
    """Indexes start..n-1, then 0..start-1: search on from where the last passage was found."""
    return list(range(start, n)) + list(range(0, start))


def _find_row(items: list[Item], passage: str, start: int) -> tuple[int, int] | None:
    """(item, row) of the first table row from `start`, not yet marked, whose filled cells are all in the
    passage's text (a table of one row: that row; otherwise the header row is never a passage)."""
    text = _flat(passage)
    for k in _from(start, len(items)):
        item = items[k]
        if item.kind != "table":
            continue
        first = 0 if len(item.rows) == 1 else 1
        for r in range(first, len(item.rows)):
            cells = [_flat(c) for c in item.rows[r] if _flat(c)]
            if cells and r not in item.row_marks and all(c in text for c in cells):
                return k, r
    return None


def _find_text(items: list[Item], line: str, start: int, pid: str) -> int | None:
    """Mark `line` (a passage, or one line of it) in the first text item from `start` that holds it:
    exactly where it is, or the whole item when it holds it only with spaces aside."""
    flat = _flat(line)
    for k in _from(start, len(items)):
        item = items[k]
        if item.kind not in ("paragraph", "heading", "title"):
            continue
        pos = item.text.find(line)
        if pos >= 0:
            item.marks.append((pos, pos + len(line), pid))
            return k
        if flat and flat in _flat(item.text):
            item.marks.append((0, len(item.text), pid))
            return k
    return None


def passages_outline(passages: list[Passage]) -> list[Item]:
    """When the original file cannot be read: the indexed passages in order, under their section headings
    and page marks, each passage a paragraph of its own (a table row as its sentence)."""
    items: list[Item] = []
    shown: tuple[str, ...] = ()
    page = 0
    for p in sorted(passages, key=lambda p: p.order):
        if (n := int(p.meta.get("page", 0) or 0)) and n != page:
            page = n
            items.append(Item("page", page=page))
        section = tuple(s for s in p.section if s not in ("前言", "印发通知", "印发信息"))
        common = next((k for k, (a, b) in enumerate(zip(shown, section)) if a != b), min(len(shown), len(section)))
        for depth, label in enumerate(section[common:], start=common):
            if p.kind != "heading" or depth < len(section) - 1:
                items.append(Item("heading", label, level=min(2 + depth, 4), page=page or 1))
        shown = section
        items.append(Item("paragraph", p.text, page=page or 1, marks=[(0, len(p.text), p.id)]))
    return items
