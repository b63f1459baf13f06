"""Segment a policy document (PDF-to-text export) into citable passages.

Steps, each a plain function:
1. `repair_blocks`: lines -> logical blocks. A paragraph broken at a page end (no sentence-final
   punctuation, the next block not a heading) is joined again; a character doubled across the
   break (`重点实` + `实验室`) is written once.
2. `segment`: walk the blocks with a heading stack (一、 / （一） / 1. / 专栏N—M and the lead topics
   inside a 专栏), turn tables into one passage per row (with the column header and footnote),
   split long paragraphs at sentence ends, and give every passage its section path and a stable id.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from retrieval.documents import Document
from retrieval.passage import Passage, passage_id
from retrieval.text import SENTENCE_END, is_cjk, normalize, split_sentences
from retrieval.tokenize import word_freq

MAX_CHARS = 240  # passages longer than this are split at sentence ends
MIN_TAIL = 60  # a shorter last piece is merged into the previous one when it fits
HARD_MAX = 340

_CN_NUM = "一二三四五六七八九十"
L1_RE = re.compile(rf"^([{_CN_NUM}]+)、\s*(\S.*)$")
L2_RE = re.compile(rf"^[（(]\s*([{_CN_NUM}]+)\s*[）)]\s*(\S.*)$")
L3_RE = re.compile(r"^(\d{1,2})\s*[.．、]\s*(\S.*)$")
BOX_RE = re.compile(r"^专栏\s*(\d+)\s*[—–\-－―]+\s*(\d+)\s*(.*)$")
CHAPTER_RE = re.compile(rf"^第[{_CN_NUM}百零\d]+章\s*(.*)$")
ARTICLE_RE = re.compile(rf"^(第[{_CN_NUM}百零\d]+条)\s*(.*)$")
NOTE_RE = re.compile(r"^注\s*[:：]\s*(.+)$")
BACK_MATTER_RE = re.compile(r"^抄送[:：]")
PARA_END = SENTENCE_END + "：:…”」』）)"  # a block ending in one of these is complete
REDUPLICATION_MIN_FREQ = 50  # 常常/人人 are words; jieba's rare 实实 (freq 3) is a PDF artefact
LEAD_MAX = 32  # a first sentence this short inside a 专栏 is its topic (`关键零部件。…`)


@dataclass
class Block:
    text: str
    kind: str = "text"  # text | table
    rows: list[list[str]] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)  # the source lines, before repair


# ---------------------------------------------------------------- 1. repair


def is_heading(text: str) -> bool:
    """A line that opens a section rather than continuing a sentence."""
    if BOX_RE.match(text) or CHAPTER_RE.match(text):
        return True
    for rx in (L1_RE, L2_RE):
        m = rx.match(text)
        if m and len(m.group(2)) <= 40 and not any(p in m.group(2) for p in "。；"):
            return True
    m = L3_RE.match(text)
    return bool(m and len(m.group(2)) <= 40 and "。" not in m.group(2))


def starts_block(text: str) -> bool:
    """A line that cannot be the continuation of the previous paragraph."""
    return bool(
        is_heading(text)
        or L1_RE.match(text)
        or L2_RE.match(text)
        or L3_RE.match(text)
        or ARTICLE_RE.match(text)
        or NOTE_RE.match(text)
        or BACK_MATTER_RE.match(text)
    )


def join_broken(left: str, right: str) -> str:
    """Join two halves of a sentence split at a page end; drop a character doubled at the break."""
    if left and right and left[-1] == right[0] and is_cjk(left[-1]):
        if word_freq(left[-1] * 2) < REDUPLICATION_MIN_FREQ:
            return left + right[1:]
    return left + right


def repair_blocks(text: str) -> list[Block]:
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n")
    raw: list[Block] = []
    for line in text.split("\n"):
        if "\t" in line and line.strip():
            cells = [c.strip() for c in line.strip("\n").split("\t")]
            if raw and raw[-1].kind == "table":
                raw[-1].rows.append(cells)
            else:
                raw.append(Block(text="", kind="table", rows=[cells]))
            continue
        line = re.sub(r"[ \u3000\xa0]+", " ", line).strip()
        if line:
            raw.append(Block(text=line, lines=[line]))
    blocks: list[Block] = []
    for block in raw:
        prev = blocks[-1] if blocks else None
        if (
            prev is not None
            and block.kind == "text"
            and prev.kind == "text"
            and prev.text[-1] not in PARA_END
            and not is_heading(prev.text)
            and not starts_block(block.text)
            and not BACK_MATTER_RE.match(prev.text)
        ):
            prev.text = join_broken(prev.text, block.text)
            prev.lines.extend(block.lines)
        else:
            blocks.append(block)
    return blocks


# ---------------------------------------------------------------- 2. segment


def _heading_label(text: str) -> tuple[int, str] | None:
    """(level, label for the section path) of a heading line, or None."""
    if m := CHAPTER_RE.match(text):
        return 0, text
    if m := L1_RE.match(text):
        return 1, f"{m.group(1)}、{m.group(2).strip()}"
    if m := L2_RE.match(text):
        return 2, f"（{m.group(1)}）{m.group(2).strip()}"
    if m := BOX_RE.match(text):
        title = m.group(3).strip()
        return 3, f"专栏{m.group(1)}—{m.group(2)}" + (f" {title}" if title else "")
    if m := L3_RE.match(text):
        return 3, f"{m.group(1)}. {m.group(2).strip()}"
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


def _table_passages(block: Block, caption: str | None, note: str | None) -> list[tuple[str, str]]:
    """One natural sentence per row: `高新技术企业数(家)：2020年 4142；2025年目标 6000`."""
    header, *rows = block.rows
    years = [re.fullmatch(r"\s*((?:19|20)\d\d)年?\s*", h) for h in header]
    target_col = None
    if caption and "目标" in caption:
        year_cols = [i for i, y in enumerate(years) if y and i > 0]
        target_col = max(year_cols, key=lambda i: int(years[i].group(1))) if year_cols else None
    marker = None
    if note and (m := re.match(r"标\s*(\S)\s*为", note)):
        marker = m.group(1)
    out = []
    for row in rows:
        if not any(c.strip() for c in row):
            continue
        name = row[0].strip()
        cells = []
        for i, value in enumerate(row[1:], start=1):
            value = value.strip()
            if not value or i >= len(header):
                continue
            col = header[i].strip() + ("目标" if i == target_col else "")
            cells.append(f"{col} {value}")
        text = f"{name}：{'；'.join(cells)}" if cells else name
        if note and (marker is None or any(marker in c for c in row[1:])):
            text += f"（注：{note}）"
        out.append((name, text))
    return out


def _is_doc_title(block_text: str, title: str) -> bool:
    b, t = normalize(block_text), normalize(title)
    return len(b) >= 4 and "关于印发" not in b and (t.startswith(b) or b in t)


def segment(doc: Document, max_chars: int = MAX_CHARS) -> list[Passage]:
    blocks = repair_blocks(doc.text)
    drafts: list[tuple[tuple[str, ...], str, str]] = []  # (section, text, kind)

    # front matter: everything before the document's own title line (the 通知 that issues it)
    start = 0
    for i, block in enumerate(blocks[:20]):
        if block.kind == "text" and i > 0 and _is_doc_title(block.text, doc.title):
            front = [line for b in blocks[:i] for line in b.lines]
            if front:
                drafts.append((("印发通知",), "\n".join(front), "front_matter"))
            start = i
            while start < len(blocks) and blocks[start].kind == "text" and _is_doc_title(blocks[start].text, doc.title):
                start += 1
            break

    path: list[str] = []  # labels by level: [L0?] L1, L2, L3, topic
    levels: list[int] = []
    preamble = ("前言",)
    open_heading: tuple[int, tuple[str, ...], str] | None = None  # the last heading, until something lands under it
    i = start
    while i < len(blocks):
        block = blocks[i]
        if block.kind == "table":
            open_heading = None
            caption = None
            if drafts and drafts[-1][2] == "caption":
                caption = drafts.pop()[1]
            note = None
            if i + 1 < len(blocks) and (m := NOTE_RE.match(blocks[i + 1].text)):
                note = m.group(1).strip()
                i += 1
            section = tuple(path) + ((caption,) if caption else ())
            for _name, text in _table_passages(block, caption, note):
                drafts.append((section, text, "table_row"))
            i += 1
            continue
        text = block.text
        if BACK_MATTER_RE.match(text):
            rest = [line for b in blocks[i:] for line in b.lines]
            drafts.append((("印发信息",), "\n".join(rest), "back_matter"))
            break
        heading = _heading_label(text) if is_heading(text) else None
        if heading is not None:
            level, label = heading
            if open_heading is not None and open_heading[0] >= level:
                drafts.append((open_heading[1], open_heading[2], "heading"))  # a heading with nothing under it
            while levels and levels[-1] >= level:
                levels.pop()
                path.pop()
            levels.append(level)
            path.append(label)
            open_heading = (level, tuple(path), text)
            i += 1
            continue
        open_heading = None
        # a short unterminated line right before a table is its caption
        if i + 1 < len(blocks) and blocks[i + 1].kind == "table" and text[-1] not in PARA_END:
            drafts.append((tuple(path), text, "caption"))
            i += 1
            continue
        section = tuple(path) if path else preamble
        if m := L3_RE.match(text):  # numbered paragraph with a lead title: `2. 加强高新技术企业培育。…`
            lead = _lead(m.group(2))
            while levels and levels[-1] >= 3:
                levels.pop()
                path.pop()
            if lead:
                levels.append(3)
                path.append(f"{m.group(1)}. {lead}")
                section = tuple(path)
        elif path and any(p.startswith("专栏") for p in path) and (lead := _lead(text)):
            section = tuple(p for p, lv in zip(path, levels) if lv <= 3) + (lead,)
        for piece in split_long(text, max_chars):
            drafts.append((section, piece, "paragraph"))
        i += 1
    if open_heading is not None:
        drafts.append((open_heading[1], open_heading[2], "heading"))

    passages: list[Passage] = []
    seen: dict[tuple[tuple[str, ...], str], int] = {}
    meta = {k: v for k, v in doc.meta.items() if isinstance(v, (str, int, float, bool))}
    for order, (section, text, kind) in enumerate(drafts):
        if kind == "caption":  # a caption with no table after all: keep its words
            kind = "paragraph"
        occurrence = seen.get((section, text), 0)
        seen[(section, text)] = occurrence + 1
        passages.append(
            Passage(
                id=passage_id(doc.doc_id, section, text, occurrence),
                doc_id=doc.doc_id,
                doc_title=doc.title,
                section=section,
                text=text,
                order=order,
                kind=kind,
                meta=meta,
            )
        )
    return passages
