"""Segment a Chinese policy document (plan, 管理办法, 通知, 实施细则 …) into citable passages.

Steps, each a plain function:
1. `repair_blocks`: lines -> logical blocks. A paragraph broken at a page end (no sentence-final
   punctuation, the next block not a heading or item) is joined again; a character doubled across
   the break (`重点实` + `实验室`) is written once. Form feeds (`\\f`, PDF page breaks) are line
   boundaries; each block remembers the page its text starts on. Consecutive TAB-separated lines
   are a table (header row first).
2. `segment`: walk the blocks with a heading stack — 附件 / 第X章 / 第X节 / 一、 / 第X条 / （一） /
   1. and 专栏N—M / the lead topics inside a 专栏 — turn tables into one passage per row (with the
   column header, caption, unit line and footnote), keep an article (`第八条 …` and its items)
   together unless it is long, split long paragraphs at sentence ends, and give every passage its
   section path and a stable id (and, for paged text, the page it starts on).
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from retrieval.cnparse import CN_COUNT, CN_ORDINAL
from retrieval.documents import Document
from retrieval.passage import Passage, passage_id
from retrieval.text import SENTENCE_END, is_cjk, normalize, split_sentences
from retrieval.tokenize import word_freq

MAX_CHARS = 240  # passages longer than this are split at sentence ends
MIN_TAIL = 60  # a shorter last piece is merged into the previous one when it fits
HARD_MAX = 340

L1_RE = re.compile(rf"^([{CN_COUNT}]+)、\s*(\S.*)$")
L2_RE = re.compile(rf"^[（(]\s*([{CN_COUNT}]+)\s*[）)]\s*(\S.*)$")
L3_RE = re.compile(r"^(\d{1,2})\s*[.．、]\s*(\S.*)$")
L4_RE = re.compile(r"^(?:[（(]\s*\d{1,2}\s*[）)]|\d{1,2}[）)]|[\u2460-\u2473])\s*\S")  # （1） (1) 1） ①: items, never headings
BOX_RE = re.compile(r"^专栏\s*(\d+)\s*[—–\-－―]+\s*(\d+)\s*(.*)$")
CHAPTER_RE = re.compile(rf"^第{CN_ORDINAL}章\s*(.*)$")
SECTION_RE = re.compile(rf"^第{CN_ORDINAL}节\s*(.*)$")
ARTICLE_RE = re.compile(rf"^(第{CN_ORDINAL}条)\s*(.*)$")
ATTACH_RE = re.compile(
    rf"^附\s*件\s*(\d{{1,2}}|[{CN_COUNT}]{{1,3}})?(?:\s*[:：]\s*(\S.*)|\s+(\S.*))?$"
)  # 附件 / 附件1 / 附件1：标题 / 附件 2 标题
TABLE_TITLE_RE = re.compile(r"^表\s*\d{1,2}(?:\s*[-—.．]\s*\d{1,2})?(?:\s*[:：]\s*|\s+|(?=[\u3400-\u9fff]))\S")  # 表1 … / 表2：…
UNIT_LINE_RE = re.compile(r"^[（(]?\s*(单位\s*[:：]\s*[^）)]+?)\s*[）)]?$")  # `单位：万元` / `（单位：元）`
UNIT_IN_TEXT_RE = re.compile(r"[（(]\s*(单位\s*[:：][^）)]+?)\s*[）)]")
NOTE_RE = re.compile(r"^注\s*[:：]\s*(.+)$")
BACK_MATTER_RE = re.compile(r"^抄送[:：]")
PAGE_NO_RE = re.compile(r"^(?:[-—–－]\s*\d{1,4}\s*[-—–－]|\d{1,4}|第\s*\d{1,4}\s*页(?:\s*[,，/]?\s*共\s*\d{1,4}\s*页)?|\d{1,4}\s*/\s*\d{1,4})$")
SEQ_HEADERS = {"序号", "序", "编号"}
PARA_END = SENTENCE_END + "：:…”」』）)"  # a block ending in one of these is complete
REDUPLICATION_MIN_FREQ = 50  # 常常/人人 are words; jieba's rare 实实 (freq 3) is a PDF artefact
LEAD_MAX = 32  # a first sentence this short inside a 专栏 is its topic (`关键零部件。…`)
TITLE_MAX = 60  # an 附件's title line is at most this long

# heading levels (only their order matters)
LV_ATTACH, LV_CHAPTER, LV_SECTION, LV_L1, LV_ARTICLE, LV_L2, LV_L3 = -1, 0, 1, 2, 3, 4, 5


@dataclass
class Block:
    text: str
    kind: str = "text"  # text | table
    rows: list[list[str]] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)  # the source lines, before repair
    page: int = 1  # the page the block starts on (1 + form feeds before it)
    starts: list[tuple[int, int]] = field(default_factory=list)  # (offset in text, page) of each joined line
    row_pages: list[int] = field(default_factory=list)  # tables: the page of each row

    def page_at(self, offset: int) -> int:
        page = self.page
        for start, p in self.starts:
            if start > offset:
                break
            page = p
        return page


# ---------------------------------------------------------------- 1. repair


def attachment(text: str) -> tuple[str, str] | None:
    """(number, title) of an 附件 heading line (`附件2：资金申请表` -> ('2', '资金申请表')), or None."""
    m = ATTACH_RE.match(text)
    if not m:
        return None
    title = (m.group(2) or m.group(3) or "").strip()
    if len(title) > TITLE_MAX or any(p in title for p in "。；;"):
        return None
    return unicodedata.normalize("NFKC", m.group(1) or ""), title


def is_heading(text: str) -> bool:
    """A line that opens a section rather than continuing a sentence."""
    if BOX_RE.match(text) or CHAPTER_RE.match(text) or attachment(text):
        return True
    if m := SECTION_RE.match(text):
        return len(m.group(1)) <= 40 and not any(p in m.group(1) for p in "。；")
    for rx in (L1_RE, L2_RE):
        m = rx.match(text)
        if m and len(m.group(2)) <= 40 and not any(p in m.group(2) for p in "。；"):
            return True
    m = L3_RE.match(text)
    return bool(m and len(m.group(2)) <= 40 and "。" not in m.group(2))


def is_article(text: str, prev: str | None = None) -> bool:
    """`第八条 …` opens an article; `第八条规定的…` after an unfinished sentence continues it."""
    m = ARTICLE_RE.match(text)
    if not m:
        return False
    rest = text[len(m.group(1)):]
    return not rest or rest[0] in " 【[:：" or prev is None or prev[-1] in PARA_END


def is_item(text: str) -> bool:
    """A numbered item line: 一、 （一） 1. （1） ①."""
    return bool(L1_RE.match(text) or L2_RE.match(text) or L3_RE.match(text) or L4_RE.match(text))


def starts_block(text: str, prev: str | None = None) -> bool:
    """A line that cannot be the continuation of the previous paragraph."""
    return bool(
        is_heading(text)
        or is_item(text)
        or is_article(text, prev)
        or NOTE_RE.match(text)
        or BACK_MATTER_RE.match(text)
        or (TABLE_TITLE_RE.match(text) and len(text) <= 40 and "。" not in text)
        or UNIT_LINE_RE.match(text)
    )


def join_broken(left: str, right: str) -> str:
    """Join two halves of a sentence split at a page end; drop a character doubled at the break."""
    if (
        left and right and left[-1] == right[0] and is_cjk(left[-1])
        and word_freq(left[-1] * 2) < REDUPLICATION_MIN_FREQ
    ):
        return left + right[1:]
    return left + right


def _page_lines(text: str) -> list[tuple[str, int]]:
    """(line, page) for every line; a form feed ends a line and starts the next page.

    In paged text a page number alone on the first or last line of a page (`— 3 —`, `3`,
    `第3页 共9页`) is a running footer, not text, and is dropped.
    """
    pages = text.split("\f")
    out: list[tuple[str, int]] = []
    for number, page in enumerate(pages, start=1):
        lines = page.split("\n")
        if len(pages) > 1:
            filled = [k for k, line in enumerate(lines) if line.strip()]
            for k in {filled[0], filled[-1]} if filled else ():
                if PAGE_NO_RE.match(re.sub(r"[ \u3000\xa0]+", " ", lines[k]).strip()):
                    lines[k] = ""
        out.extend((line, number) for line in lines)
    return out


def repair_blocks(text: str, title: str | None = None) -> list[Block]:
    """Lines -> blocks. A line equal to `title` (the document's title) is never joined to the next."""
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n")
    title_key = _title_key(title) if title else None
    raw: list[Block] = []
    for line, page in _page_lines(text):
        if "\t" in line and line.strip():
            cells = [c.strip() for c in line.strip("\n").split("\t")]
            if raw and raw[-1].kind == "table":
                if cells != raw[-1].rows[0]:  # a header row repeated on a new page is written once
                    raw[-1].rows.append(cells)
                    raw[-1].row_pages.append(page)
            else:
                raw.append(Block(text="", kind="table", rows=[cells], page=page, row_pages=[page]))
            continue
        line = re.sub(r"[ \u3000\xa0\x0b]+", " ", line).strip()
        if line:
            raw.append(Block(text=line, lines=[line], page=page))
    blocks: list[Block] = []
    for block in raw:
        prev = blocks[-1] if blocks else None
        if (
            prev is not None
            and block.kind == "text"
            and prev.kind == "text"
            and prev.text[-1] not in PARA_END
            and not is_heading(prev.text)
            and not starts_block(block.text, prev.text)
            and not BACK_MATTER_RE.match(prev.text)
            and not (title_key and _title_key(prev.text) == title_key)
        ):
            joined = join_broken(prev.text, block.text)
            prev.starts.append((len(joined) - len(block.text), block.page))
            prev.text = joined
            prev.lines.extend(block.lines)
        else:
            blocks.append(block)
    return blocks


# ---------------------------------------------------------------- 2. segment


def _heading_label(text: str) -> tuple[int, str] | None:
    """(level, label for the section path) of a heading line, or None."""
    if att := attachment(text):
        number, title = att
        return LV_ATTACH, f"附件{number}" + (f" {title}" if title else "")
    if CHAPTER_RE.match(text):
        return LV_CHAPTER, text
    if SECTION_RE.match(text):
        return LV_SECTION, text
    if m := L1_RE.match(text):
        return LV_L1, f"{m.group(1)}、{m.group(2).strip()}"
    if m := L2_RE.match(text):
        return LV_L2, f"（{m.group(1)}）{m.group(2).strip()}"
    if m := BOX_RE.match(text):
        title = m.group(3).strip()
        return LV_L3, f"专栏{m.group(1)}—{m.group(2)}" + (f" {title}" if title else "")
    if m := L3_RE.match(text):
        return LV_L3, f"{m.group(1)}. {m.group(2).strip()}"
    return None


def _lead(text: str) -> str | None:
    """`关键零部件。重点开展…` -> `关键零部件`; None when the first sentence is not a short topic."""
    head, sep, rest = text.partition("。")
    if sep and rest.strip() and 2 <= len(head) <= LEAD_MAX and not head.endswith(("：", ":")):
        return head.strip()
    return None


def split_long(text: str, max_chars: int = MAX_CHARS) -> list[str]:
    """Split at sentence ends into pieces of at most max_chars (a longer sentence stays whole)."""
    if len(text) <= max_chars * 1.25:
        return [text]
    pieces: list[str] = []
    current = ""
    for sentence in split_sentences(text):
        if current and len(current) + len(sentence) > max_chars:
            pieces.append(current)
            current = sentence
        else:
            current += sentence
    if current:
        if pieces and len(current) < MIN_TAIL and len(pieces[-1]) + len(current) <= HARD_MAX:
            pieces[-1] += current
        else:
            pieces.append(current)
    return pieces


def _pieces(block: Block, max_chars: int) -> list[tuple[str, int]]:
    """split_long of a text block, each piece with the page it starts on."""
    out = []
    cursor = 0
    for piece in split_long(block.text, max_chars):
        head = (split_sentences(piece) or [piece])[0][:16]
        pos = block.text.find(head, cursor)
        pos = cursor if pos < 0 else pos
        out.append((piece, block.page_at(pos)))
        cursor = pos + len(head)
    return out


def _pack(items: list[tuple[str, int]], max_chars: int) -> list[tuple[str, int]]:
    """Consecutive lines of one article -> passages of about max_chars, one line per text line."""
    if sum(len(t) for t, _ in items) + len(items) - 1 <= max_chars * 1.25:
        return [("\n".join(t for t, _ in items), items[0][1])]
    out: list[tuple[str, int]] = []
    current, page = "", 1
    for text, p in items:
        if current and len(current) + 1 + len(text) > max_chars:
            out.append((current, page))
            current, page = text, p
        elif current:
            current += "\n" + text
        else:
            current, page = text, p
    if current:
        if out and len(current) < MIN_TAIL and len(out[-1][0]) + 1 + len(current) <= HARD_MAX:
            out[-1] = (out[-1][0] + "\n" + current, out[-1][1])
        else:
            out.append((current, page))
    return out


UNIT_HEADERS = ("单位", "计量单位", "金额单位", "补贴单位")
_HEADER_UNIT = re.compile(r"^(.*?)\s*[（(]\s*(万元|亿元|元|%|％|元/人/月|元/人|元/月|万元/年|个|家|人|项)\s*[)）]$")
_NUMERIC_VALUE = re.compile(r"^(?:最高|不超过|不高于|不低于|约)?\s*\d[\d,.]*$")


class _UnitColumns(set):
    """Columns headed 单位: their value belongs to the value column just before them."""

    def __init__(self, header: list[str]):
        super().__init__(i for i, h in enumerate(header) if i > 0 and normalize(h) in UNIT_HEADERS)

    def get_for(self, i: int) -> list[int]:
        return [j for j in self if j == i + 1]


def _table_passages(
    block: Block, caption: str | None, note: str | None, unit: str | None = None
) -> list[tuple[int, str]]:
    """One natural sentence per row: `高新技术企业数(家)：2020年 4142；2025年目标 6000`.

    Returns (row index in block.rows, text). A 序号 first column is written as `1. <name>：…`; an
    empty name cell (a merged cell in Word/HTML) takes the name of the row above; a unit line
    (`单位：万元`) is added to every row so that values keep their unit. A 单位 column's cell goes with
    the value just before it (`20` + `万元`), or — right after the name column (`指标 | 单位 | 2020年`) —
    with every numeric value of the row; a unit with no value to take it is kept as a cell. No row is
    left empty and no cell is dropped (the header row labels the values).
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
        if name:
            text = f"{name}：{'；'.join(cells)}" if cells else name
        else:
            text = "；".join(cells)
        if seq:
            text = f"{seq}. {text}"
        if not text.strip():
            continue  # a row of punctuation only (`．` under 序号): nothing to cite
        if unit:
            text += f"（{unit}）"
        if note and (marker is None or any(marker in c for c in row[1:])):
            text += f"（注：{note}）"
        out.append((index, text))
    return out


def _is_doc_title(block_text: str, title: str) -> bool:
    b, t = normalize(block_text), normalize(title)
    return len(b) >= 4 and "关于印发" not in b and (t.startswith(b) or b in t)


def _title_key(text: str) -> str:
    return normalize(text).strip("《》〈〉\"“”")


def _is_caption(blocks: list[Block], i: int) -> bool:
    """A text block right before a table (or before its unit line) that names it."""
    text = blocks[i].text
    nxt = i + 1
    if nxt < len(blocks) and blocks[nxt].kind == "text" and UNIT_LINE_RE.match(blocks[nxt].text):
        nxt += 1
    if not (nxt < len(blocks) and blocks[nxt].kind == "table") or UNIT_LINE_RE.match(text):
        return False
    return text[-1] not in PARA_END or bool(TABLE_TITLE_RE.match(text) and len(text) <= 60)


def _is_unit_line(blocks: list[Block], i: int) -> bool:
    return bool(UNIT_LINE_RE.match(blocks[i].text) and i + 1 < len(blocks) and blocks[i + 1].kind == "table")


def _title_like(body: str) -> bool:
    return len(body) <= 40 and not any(p in body for p in "。；;，,") and body[-1] not in "：:、"


def _item_opens_section(blocks: list[Block], i: int) -> bool:
    """Inside an article, a numbered line is a heading only when it is a short title with
    a paragraph under it (`（一）研发补助` + `对…给予补助。`); otherwise it is an item of the article."""
    text = blocks[i].text
    m = L1_RE.match(text) or L2_RE.match(text) or L3_RE.match(text)
    if not m or not is_heading(text) or not _title_like(m.group(2).strip()):
        return False
    return i + 1 < len(blocks) and blocks[i + 1].kind == "text" and not starts_block(blocks[i + 1].text, text)


def _ends_article(blocks: list[Block], j: int) -> bool:
    text = blocks[j].text
    if blocks[j].kind != "text" or BACK_MATTER_RE.match(text) or ARTICLE_RE.match(text):
        return True
    if _is_caption(blocks, j) or _is_unit_line(blocks, j):
        return True
    if is_heading(text):
        return not is_item(text) or _item_opens_section(blocks, j)
    return False


def _source_lines(block: Block) -> list[str]:
    """The lines a block was made of; a table's rows as `cell；cell` (front/back matter keep every word)."""
    if block.kind == "table":
        return [text for row in block.rows if (text := "；".join(c for c in row if c))]
    return block.lines


def segment(doc: Document, max_chars: int = MAX_CHARS) -> list[Passage]:
    blocks = repair_blocks(doc.text, title=doc.title)
    drafts: list[tuple[tuple[str, ...], str, str, int]] = []  # (section, text, kind, page)

    start = 0
    if blocks and blocks[0].kind == "text" and _title_key(blocks[0].text) == _title_key(doc.title):
        # the text opens with the title itself: it is the doc_title, not a 前言 paragraph
        start = 1
        while start < len(blocks) and blocks[start].kind == "text" and _is_doc_title(blocks[start].text, doc.title):
            start += 1
    else:
        # front matter: everything before the document's own title line (the 通知 that issues it)
        for i, block in enumerate(blocks[:20]):
            if block.kind == "text" and i > 0 and _is_doc_title(block.text, doc.title):
                front = [line for b in blocks[:i] for line in _source_lines(b)]
                if front:
                    drafts.append((("印发通知",), "\n".join(front), "front_matter", blocks[0].page))
                start = i
                while start < len(blocks) and blocks[start].kind == "text" and _is_doc_title(blocks[start].text, doc.title):
                    start += 1
                break

    path: list[str] = []  # labels by level: [附件] [章] [节] [一、] [条] [（一）] [1./专栏], topic
    levels: list[int] = []
    preamble = ("前言",)
    # the last heading, until something lands under it: (level, section, text, page)
    open_heading: tuple[int, tuple[str, ...], str, int] | None = None

    def open_section(level: int, label: str, text: str, page: int) -> None:
        nonlocal open_heading
        if open_heading is not None and open_heading[0] >= level:
            drafts.append((open_heading[1], open_heading[2], "heading", open_heading[3]))  # nothing under it
        while levels and levels[-1] >= level:
            levels.pop()
            path.pop()
        levels.append(level)
        path.append(label)
        open_heading = (level, tuple(path), text, page)

    i = start
    while i < len(blocks):
        block = blocks[i]
        if block.kind == "table":
            open_heading = None
            caption = unit = None
            if drafts and drafts[-1][2] == "unit":
                unit = UNIT_LINE_RE.match(drafts.pop()[1]).group(1)
            if drafts and drafts[-1][2] == "caption":
                caption = drafts.pop()[1]
            if unit is None and caption and (m := UNIT_IN_TEXT_RE.search(caption)):
                unit = m.group(1)
            note = None
            if i + 1 < len(blocks) and (m := NOTE_RE.match(blocks[i + 1].text)):
                note = m.group(1).strip()
                i += 1
            section = tuple(path) + ((caption,) if caption else ())
            rows = _table_passages(block, caption, note, unit)
            for index, text in rows:
                page = block.row_pages[index] if index < len(block.row_pages) else block.page
                drafts.append((section, text, "table_row", page))
            if not rows:  # a table of empty cells: keep the words around it
                for words, wpage in ((caption, block.page), (unit, block.page), (note and blocks[i].text, blocks[i].page)):
                    if words:
                        drafts.append((tuple(path) or preamble, words, "paragraph", wpage))
            i += 1
            continue
        text = block.text
        if BACK_MATTER_RE.match(text):
            if open_heading is not None:  # a heading with nothing under it comes before the back matter
                drafts.append((open_heading[1], open_heading[2], "heading", open_heading[3]))
                open_heading = None
            rest = [line for b in blocks[i:] for line in _source_lines(b)]
            drafts.append((("印发信息",), "\n".join(rest), "back_matter", block.page))
            break
        in_article = LV_ARTICLE in levels
        heading = None
        if is_heading(text) and not (in_article and is_item(text) and not _item_opens_section(blocks, i)):
            heading = _heading_label(text)
        if heading is not None:
            level, label = heading
            if level == LV_ATTACH and not attachment(text)[1] and i + 1 < len(blocks):
                nxt = blocks[i + 1]  # `附件1` on its own line, its title on the next
                if (
                    nxt.kind == "text"
                    and len(nxt.text) <= TITLE_MAX
                    and not any(p in nxt.text for p in "。；;，,")
                    and not starts_block(nxt.text)
                ):
                    label = f"{label} {nxt.text}"
                    text = f"{text}\n{nxt.text}"
                    i += 1
            open_section(level, label, text, block.page)
            i += 1
            continue
        if m := ARTICLE_RE.match(text):
            open_section(LV_ARTICLE, m.group(1), text, block.page)
            open_heading = None
            j = i + 1
            while j < len(blocks) and not _ends_article(blocks, j):
                j += 1
            items = [piece for b in blocks[i:j] for piece in _pieces(b, max_chars)]
            for piece, page in _pack(items, max_chars):
                drafts.append((tuple(path), piece, "paragraph", page))
            i = j
            continue
        open_heading = None
        if _is_unit_line(blocks, i):
            drafts.append((tuple(path), text, "unit", block.page))
            i += 1
            continue
        # a short unterminated line (or a `表N …` title) right before a table is its caption
        if _is_caption(blocks, i):
            drafts.append((tuple(path), text, "caption", block.page))
            i += 1
            continue
        section = tuple(path) if path else preamble
        if m := L3_RE.match(text):  # numbered paragraph with a lead title: `2. 加强高新技术企业培育。…`
            lead = _lead(m.group(2))
            while levels and levels[-1] >= LV_L3:
                levels.pop()
                path.pop()
            if lead:
                levels.append(LV_L3)
                path.append(f"{m.group(1)}. {lead}")
                section = tuple(path)
        elif path and any(p.startswith("专栏") for p in path) and (lead := _lead(text)):
            section = tuple(p for p, lv in zip(path, levels) if lv <= LV_L3) + (lead,)
        for piece, page in _pieces(block, max_chars):
            drafts.append((section, piece, "paragraph", page))
        i += 1
    if open_heading is not None:
        drafts.append((open_heading[1], open_heading[2], "heading", open_heading[3]))

    passages: list[Passage] = []
    seen: dict[tuple[tuple[str, ...], str], int] = {}
    used: set[str] = set()
    meta = {k: v for k, v in doc.meta.items() if isinstance(v, (str, int, float, bool))}
    paged = "\f" in doc.text
    for order, (section, text, kind, page) in enumerate(drafts):
        if kind in ("caption", "unit"):  # a caption with no table after all: keep its words
            kind = "paragraph"
        occurrence = seen.get((section, text), 0)
        pid = passage_id(doc.doc_id, section, text, occurrence)
        # passage_id's key is flat (`a > b` + text + occurrence): the section ("一、甲 > （一）乙",) and
        # ("一、甲", "（一）乙"), or a text ending in "\x1f1", can give another passage's key. Ids stay unique
        # (and stable: the same drafts in the same order give the same ids) by counting on to a free one.
        while pid in used:
            occurrence += 1
            pid = passage_id(doc.doc_id, section, text, occurrence)
        seen[(section, text)] = occurrence + 1
        used.add(pid)
        passages.append(
            Passage(
                id=pid,
                doc_id=doc.doc_id,
                doc_title=doc.title,
                section=section,
                text=text,
                order=order,
                kind=kind,
                meta={**meta, "page": page} if paged else meta,
            )
        )
    return passages
