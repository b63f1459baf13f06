"""Lines -> logical blocks: the first step of segmentation (`retrieval.ingest.segment`).

`repair_blocks(text)`: a paragraph broken at a page end (no sentence-final punctuation, the next block
not a heading or item) is joined again; a character doubled across the break (`重点实` + `实验室`) is
written once. Form feeds (`\\f`, PDF page breaks) are line boundaries, and a page number alone on the
first or last line of a page is dropped; each block remembers the page its text starts on. Consecutive
TAB-separated lines are a table (header row first). The line patterns (headings 附件 / 第X章 / 第X节 /
一、 / （一） / 1. / 专栏N—M, articles 第X条, items, captions, unit lines, notes, 抄送) and the tests on
one line (`is_heading`, `is_article`, `is_item`, `starts_block`) are shared with the segmenter.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from retrieval.ingest.cnparse import CN_COUNT, CN_ORDINAL
from retrieval.text import SENTENCE_END, is_cjk, normalize
from retrieval.tokenize import word_freq

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
PARA_END = SENTENCE_END + "：:…”」』）)"  # a block ending in one of these is complete
REDUPLICATION_MIN_FREQ = 50  # 常常/人人 are words; jieba's rare 实实 (freq 3) is a PDF artefact
TITLE_MAX = 60  # an 附件's title line is at most this long
LABEL_MAX = 200  # a longer line is never a heading or a caption (its text would be on every passage under it)


@dataclass
class Block:
    """A paragraph or heading (its lines joined again), or a table (its rows of cells)."""

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
    if (BOX_RE.match(text) or CHAPTER_RE.match(text)) and len(text) <= LABEL_MAX or attachment(text):
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
    own_title = title_key(title) if title else None
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
            and not (own_title and title_key(prev.text) == own_title)
        ):
            joined = join_broken(prev.text, block.text)
            prev.starts.append((len(joined) - len(block.text), block.page))
            prev.text = joined
            prev.lines.extend(block.lines)
        else:
            blocks.append(block)
    return blocks


def title_key(text: str) -> str:
    """A line or title as compared with the document's title (NFKC, no spaces, no 《》 or quotes around)."""
    return normalize(text).strip("《》〈〉\"“”")


# ---------------------------------------------------------------- a block in its context


def is_doc_title(block_text: str, title: str) -> bool:
    """The block is (a line of) the document's title."""
    b, t = normalize(block_text), normalize(title)
    return len(b) >= 4 and "关于印发" not in b and (t.startswith(b) or b in t)


def is_caption(blocks: list[Block], i: int) -> bool:
    """A text block right before a table (or before its unit line) that names it."""
    text = blocks[i].text
    nxt = i + 1
    if nxt < len(blocks) and blocks[nxt].kind == "text" and UNIT_LINE_RE.match(blocks[nxt].text):
        nxt += 1
    if not (nxt < len(blocks) and blocks[nxt].kind == "table") or UNIT_LINE_RE.match(text) or len(text) > LABEL_MAX:
        return False
    return text[-1] not in PARA_END or bool(TABLE_TITLE_RE.match(text) and len(text) <= 60)


def is_unit_line(blocks: list[Block], i: int) -> bool:
    """A unit line (`单位：万元`) right before a table."""
    return bool(UNIT_LINE_RE.match(blocks[i].text) and i + 1 < len(blocks) and blocks[i + 1].kind == "table")


def _title_like(body: str) -> bool:
    return len(body) <= 40 and not any(p in body for p in "。；;，,") and body[-1] not in "：:、"


def item_opens_section(blocks: list[Block], i: int) -> bool:
    """Inside an article, a numbered line is a heading only when it is a short title with
    a paragraph under it (`（一）研发补助` + `对…给予补助。`); otherwise it is an item of the article."""
    text = blocks[i].text
    m = L1_RE.match(text) or L2_RE.match(text) or L3_RE.match(text)
    if not m or not is_heading(text) or not _title_like(m.group(2).strip()):
        return False
    return i + 1 < len(blocks) and blocks[i + 1].kind == "text" and not starts_block(blocks[i + 1].text, text)


def ends_article(blocks: list[Block], j: int) -> bool:
    """Block j is not part of the article above it (a table, another article, a heading…)."""
    text = blocks[j].text
    if blocks[j].kind != "text" or BACK_MATTER_RE.match(text) or ARTICLE_RE.match(text):
        return True
    if is_caption(blocks, j) or is_unit_line(blocks, j):
        return True
    if is_heading(text):
        return not is_item(text) or item_opens_section(blocks, j)
    return False


def source_lines(block: Block) -> list[str]:
    """The lines a block was made of; a table's rows as `cell；cell` (front/back matter keep every word)."""
    if block.kind == "table":
        return [text for row in block.rows if (text := "；".join(c for c in row if c))]
    return block.lines
