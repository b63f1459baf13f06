"""Segment a Chinese policy document (plan, 管理办法, 通知, 实施细则 …) into citable passages.

`segment(doc)` reads the document's blocks (`retrieval.ingest.blocks.repair_blocks`: lines joined again across
page breaks, tables as rows) and walks them with a heading stack — 附件 / 第X章 / 第X节 / 一、 / 第X条 /
（一） / 1. and 专栏N—M / the lead topics inside a 专栏. Each block is taken by the first step that applies:
* `_table`: one passage per row, with the column header, caption, unit line and footnote
  (`retrieval.ingest.table_rows`);
* `_back_matter`: 抄送 and everything after it;
* `_heading`: opens a section;
* `_article`: `第八条 …` and its items together unless long;
* `_held_for_table`: a unit line or caption, waiting for the table below it;
* `_paragraph`: running text, long paragraphs split at sentence ends.
The steps write `Draft`s (section path, text, kind, page); `_passages` turns them into Passages with
stable ids (and, for paged text, the page each starts on). Before the walk, `_front_matter` skips the
title line, or keeps what comes before it (the 通知 that issues the document) as one passage.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from retrieval.ingest.blocks import (  # PAGE_NO_RE: re-exported for callers
    ARTICLE_RE, BACK_MATTER_RE, BOX_RE, CHAPTER_RE, L1_RE, L2_RE, L3_RE, NOTE_RE, PAGE_NO_RE, SECTION_RE, TITLE_MAX,
    UNIT_IN_TEXT_RE, UNIT_LINE_RE, Block, attachment, ends_article, is_caption, is_doc_title, is_heading, is_item,
    is_unit_line, item_opens_section, repair_blocks, source_lines, starts_block, title_key,
)
from retrieval.ingest.documents import Document
from retrieval.passage import Passage, passage_id
from retrieval.ingest.table_rows import UNIT_HEADERS, table_passages  # UNIT_HEADERS: re-exported for callers
from retrieval.text import cut_to, split_sentences

MAX_CHARS = 240  # passages longer than this are split at sentence ends
MIN_TAIL = 60  # a shorter last piece is merged into the previous one when it fits
HARD_MAX = 340
PASSAGE_MAX = 600  # no passage is longer (PA_MAX_PASSAGE_CHARS): cut even where there is no punctuation
LEAD_MAX = 32  # a first sentence this short inside a 专栏 is its topic (`关键零部件。…`)
PREAMBLE = ("前言",)  # the section of text before any heading

__all__ = ["HARD_MAX", "MAX_CHARS", "MIN_TAIL", "PAGE_NO_RE", "PASSAGE_MAX", "UNIT_HEADERS", "Draft", "segment",
           "split_long"]

# heading levels (only their order matters)
LV_ATTACH, LV_CHAPTER, LV_SECTION, LV_L1, LV_ARTICLE, LV_L2, LV_L3 = -1, 0, 1, 2, 3, 4, 5


# ---------------------------------------------------------------- labels and pieces


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


# ---------------------------------------------------------------- the walk


@dataclass
class Draft:
    """A passage before its id: section path, text, kind and the page it starts on.

    kind: paragraph | table_row | heading | front_matter | back_matter, and while walking caption / unit
    (a line waiting for its table; one with no table after all becomes a paragraph)."""

    section: tuple[str, ...]
    text: str
    kind: str
    page: int


@dataclass
class _Walk:
    """Where the walk over a document's blocks is: the drafts so far and the heading stack."""

    blocks: list[Block]
    max_chars: int
    passage_max: int = PASSAGE_MAX
    drafts: list[Draft] = field(default_factory=list)
    path: list[str] = field(default_factory=list)  # labels: [附件] [章] [节] [一、] [条] [（一）] [1./专栏], topic
    levels: list[int] = field(default_factory=list)
    pending: tuple[int, Draft] | None = None  # the last heading (level, draft), until something lands under it

    def add(self, section: tuple[str, ...], text: str, kind: str, page: int) -> None:
        self.drafts.append(Draft(section, text, kind, page))

    def section(self) -> tuple[str, ...]:
        return tuple(self.path) or PREAMBLE

    def close_heading(self) -> None:
        """Something lands under the pending heading: it needs no passage of its own."""
        self.pending = None

    def keep_heading(self) -> None:
        """The pending heading has nothing under it: it becomes a passage itself."""
        if self.pending is not None:
            self.drafts.append(self.pending[1])
            self.pending = None

    def pop_levels(self, level: int) -> None:
        while self.levels and self.levels[-1] >= level:
            self.levels.pop()
            self.path.pop()

    def open_section(self, level: int, label: str, text: str, page: int) -> None:
        if self.pending is not None and self.pending[0] >= level:
            self.keep_heading()
        self.pop_levels(level)
        self.levels.append(level)
        self.path.append(label)
        self.pending = (level, Draft(tuple(self.path), text, "heading", page))


def _skip_title_lines(blocks: list[Block], start: int, title: str) -> int:
    while start < len(blocks) and blocks[start].kind == "text" and is_doc_title(blocks[start].text, title):
        start += 1
    return start


def _front_matter(w: _Walk, title: str) -> int:
    """The index of the first block after the document's title line(s); what comes before the title
    (the 通知 that issues the document) becomes one front_matter draft."""
    blocks = w.blocks
    if blocks and blocks[0].kind == "text" and title_key(blocks[0].text) == title_key(title):
        return _skip_title_lines(blocks, 1, title)  # the text opens with the title: not a 前言 paragraph
    for i, block in enumerate(blocks[:20]):
        if block.kind == "text" and i > 0 and is_doc_title(block.text, title):
            front = [line for b in blocks[:i] for line in source_lines(b)]
            if front:
                w.add(("印发通知",), "\n".join(front), "front_matter", blocks[0].page)
            return _skip_title_lines(blocks, i, title)
    return 0


# ---------------------------------------------------------------- the steps: block i -> the next index, or None


def _table(w: _Walk, i: int) -> int | None:
    """A table: one draft per row, the caption and unit line before it and the note after it folded in."""
    block = w.blocks[i]
    if block.kind != "table":
        return None
    w.close_heading()
    caption = unit = None
    if w.drafts and w.drafts[-1].kind == "unit":
        unit = UNIT_LINE_RE.match(w.drafts.pop().text).group(1)
    if w.drafts and w.drafts[-1].kind == "caption":
        caption = w.drafts.pop().text
    if unit is None and caption and (m := UNIT_IN_TEXT_RE.search(caption)):
        unit = m.group(1)
    note = None
    if i + 1 < len(w.blocks) and (m := NOTE_RE.match(w.blocks[i + 1].text)):
        note = m.group(1).strip()
        i += 1
    section = tuple(w.path) + ((caption,) if caption else ())
    rows = table_passages(block, caption, note, unit, max_chars=w.passage_max)
    for index, text in rows:
        w.add(section, text, "table_row", block.row_pages[index] if index < len(block.row_pages) else block.page)
    if not rows:  # a table of empty cells: keep the words around it
        for words, page in ((caption, block.page), (unit, block.page), (note and w.blocks[i].text, w.blocks[i].page)):
            if words:
                w.add(w.section(), words, "paragraph", page)
    return i + 1


def _back_matter(w: _Walk, i: int) -> int | None:
    """抄送: this block and every one after it are one back_matter draft (the walk ends)."""
    block = w.blocks[i]
    if not BACK_MATTER_RE.match(block.text):
        return None
    w.keep_heading()  # a heading with nothing under it comes before the back matter
    rest = [line for b in w.blocks[i:] for line in source_lines(b)]
    w.add(("印发信息",), "\n".join(rest), "back_matter", block.page)
    return len(w.blocks)


def _heading(w: _Walk, i: int) -> int | None:
    """A heading opens a section (inside an article, a numbered line is an item unless it opens one)."""
    block = w.blocks[i]
    text = block.text
    if not is_heading(text) or (LV_ARTICLE in w.levels and is_item(text) and not item_opens_section(w.blocks, i)):
        return None
    heading = _heading_label(text)
    if heading is None:
        return None
    level, label = heading
    if level == LV_ATTACH and not attachment(text)[1] and i + 1 < len(w.blocks):
        nxt = w.blocks[i + 1]  # `附件1` on its own line, its title on the next
        if (
            nxt.kind == "text"
            and len(nxt.text) <= TITLE_MAX
            and not any(p in nxt.text for p in "。；;，,")
            and not starts_block(nxt.text)
        ):
            label = f"{label} {nxt.text}"
            text = f"{text}\n{nxt.text}"
            i += 1
    w.open_section(level, label, text, block.page)
    return i + 1


def _article(w: _Walk, i: int) -> int | None:
    """`第八条 …` with the items under it, packed into passages of about max_chars."""
    block = w.blocks[i]
    if not (m := ARTICLE_RE.match(block.text)):
        return None
    w.open_section(LV_ARTICLE, m.group(1), block.text, block.page)
    w.close_heading()
    j = i + 1
    while j < len(w.blocks) and not ends_article(w.blocks, j):
        j += 1
    items = [piece for b in w.blocks[i:j] for piece in _pieces(b, w.max_chars)]
    for piece, page in _pack(items, w.max_chars):
        w.add(tuple(w.path), piece, "paragraph", page)
    return j


def _held_for_table(w: _Walk, i: int) -> int | None:
    """A unit line (`单位：万元`) or a caption (a short unterminated line, or a `表N …` title) right before a
    table: held as a draft of kind unit / caption until `_table` takes it."""
    kind = "unit" if is_unit_line(w.blocks, i) else "caption" if is_caption(w.blocks, i) else None
    if kind is None:
        return None
    w.close_heading()
    w.add(tuple(w.path), w.blocks[i].text, kind, w.blocks[i].page)
    return i + 1


def _paragraph(w: _Walk, i: int) -> int:
    """Running text, split at sentence ends when long. A numbered paragraph with a lead title
    (`2. 加强高新技术企业培育。…`) opens a level of its own; inside a 专栏 a lead sentence is the topic."""
    block = w.blocks[i]
    text = block.text
    w.close_heading()
    section = w.section()
    if m := L3_RE.match(text):
        lead = _lead(m.group(2))
        w.pop_levels(LV_L3)
        if lead:
            w.levels.append(LV_L3)
            w.path.append(f"{m.group(1)}. {lead}")
            section = tuple(w.path)
    elif w.path and any(p.startswith("专栏") for p in w.path) and (lead := _lead(text)):
        section = tuple(p for p, lv in zip(w.path, w.levels) if lv <= LV_L3) + (lead,)
    for piece, page in _pieces(block, w.max_chars):
        w.add(section, piece, "paragraph", page)
    return i + 1


STEPS = (_table, _back_matter, _heading, _article, _held_for_table, _paragraph)


def segment(doc: Document, max_chars: int = MAX_CHARS, passage_max: int = PASSAGE_MAX) -> list[Passage]:
    """The document's passages, in order (see the module docstring); none longer than `passage_max`."""
    w = _Walk(repair_blocks(doc.text, title=doc.title), max_chars, max(passage_max, HARD_MAX))
    i = _front_matter(w, doc.title)
    while i < len(w.blocks):
        i = next(n for step in STEPS if (n := step(w, i)) is not None)
    w.keep_heading()
    return _passages(doc, _bounded(w.drafts, w.passage_max))


def _bounded(drafts: list[Draft], passage_max: int) -> list[Draft]:
    """A draft longer than `passage_max` (a line without punctuation, a huge table cell) is cut into
    several of the same section, kind and page; shorter drafts pass unchanged."""
    out: list[Draft] = []
    for d in drafts:
        if len(d.text) <= passage_max:
            out.append(d)
        else:
            out += [Draft(d.section, piece, d.kind, d.page) for piece in cut_to(d.text, passage_max)]
    return out


def _passages(doc: Document, drafts: list[Draft]) -> list[Passage]:
    """Drafts -> Passages with ids unique within the document and stable across runs."""
    passages: list[Passage] = []
    seen: dict[tuple[tuple[str, ...], str], int] = {}
    used: set[str] = set()
    meta = {k: v for k, v in doc.meta.items() if isinstance(v, (str, int, float, bool))}
    paged = "\f" in doc.text
    for order, d in enumerate(drafts):
        kind = "paragraph" if d.kind in ("caption", "unit") else d.kind  # a caption with no table after all
        occurrence = seen.get((d.section, d.text), 0)
        pid = passage_id(doc.doc_id, d.section, d.text, occurrence)
        # passage_id's key is flat (`a > b` + text + occurrence): the section ("一、甲 > （一）乙",) and
        # ("一、甲", "（一）乙"), or a text ending in "\x1f1", can give another passage's key. Ids stay unique
        # (and stable: the same drafts in the same order give the same ids) by counting on to a free one.
        while pid in used:
            occurrence += 1
            pid = passage_id(doc.doc_id, d.section, d.text, occurrence)
        seen[(d.section, d.text)] = occurrence + 1
        used.add(pid)
        passages.append(Passage(id=pid, doc_id=doc.doc_id, doc_title=doc.title, section=d.section, text=d.text,
                                order=order, kind=kind, meta={**meta, "page": d.page} if paged else meta))
    return passages
