"""Properties of `retrieval.ingest.segment.segment` on generated documents (hypothesis).

What is checked, for any document:
* no passage is empty; `order` is 0..n-1; the kind is one of the known kinds;
* passage ids are unique and stable (two runs over equal documents give the same ids);
* COVERAGE — nothing the author wrote is lost, and it stays in order. Precisely: let C(s) be the
  characters of NFKC(s) whose Unicode category is a letter, a number or a symbol (L*, N*, S*), i.e.
  everything but whitespace, punctuation and control characters. Then C(input) — with the exemptions
  below — is a subsequence of C(doc_title + for each passage in order: its section labels + its text).
  A subsequence means every such character appears, in input order (repetition in the output — a section
  label repeated on every passage under it, a table caption on every row — is allowed).

Exemptions (each is something `segment` does on purpose; see its docstrings):
* punctuation, whitespace and control characters: heading labels are re-punctuated (`1、x` -> `1. x`,
  `(一)x` -> `（一）x`, `附件1：x` -> `附件1 x`, `专栏1-2` -> `专栏1—2`) and table rows are rewritten as
  sentences (`名称：列 值；列 值`);
* in paged text (with `\\f`), a page number alone on the first or last line of a page (`— 3 —`, `3`,
  `第3页 共9页`): a running header/footer, dropped;
* a CJK character doubled across a joined line break (`重点实` + `实验室`) may be written once;
* a table's header row is not content of its own when the table has body rows: its cells label the
  values (`列 值`), so the first column's header and the header of a column without values do not
  appear; a body row equal to the header row (a header repeated on a new page) is written once;
* a unit line right before a table (`单位：万元`) is added to every row (so it appears after the rows'
  first cells, not before), and a `单位` column's cell moves to the values it measures: both are
  checked for presence, not order;
* a line that is the document title is the passage's doc_title (checked at the front).

Generated documents mix: paragraphs of CJK/Latin/digits with full- and half-width punctuation, headings
(`第一章`, `第二节`, `一、`, `（一）`, `(二)`, `1.`, `1、`, `专栏N—M`, `附件N：`), articles (`第八条 …`), items
(`（1）`, `①`), tables (TAB-separated, with caption, unit line, 序号 and 单位 columns, notes), `\\f` page
breaks with page numbers, blank lines, front matter before a title line and back matter after `抄送：`.
A second property runs on arbitrary Unicode text (control characters, TABs, form feeds included).
"""
from __future__ import annotations

import os
import re
import unicodedata

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import assistant  # noqa: F401  (assistant first: importing retrieval.ingest.documents alone is circular)
from retrieval.ingest.documents import Document
from retrieval.ingest.segment import PAGE_NO_RE, UNIT_HEADERS, segment
from retrieval.text import is_cjk, normalize

TITLE = "政策助手样例文件"  # none of these characters is in the generated text (see ALPHABET)
KINDS = {"paragraph", "table_row", "front_matter", "back_matter", "heading"}

# ------------------------------------------------------------------ the coverage function


def content(s: str) -> str:
    """C(s): NFKC letters, numbers and symbols (no whitespace, punctuation or control characters)."""
    return "".join(c for c in unicodedata.normalize("NFKC", s) if unicodedata.category(c)[0] in "LNS")


def output_stream(passages, title: str) -> str:
    return content(title) + "".join(content("".join(p.section)) + content(p.text) for p in passages)


def is_subsequence(needle: str, haystack: str) -> tuple[bool, int]:
    """(needle is a subsequence of haystack, how many of needle's characters were matched)."""
    it = iter(haystack)
    matched = 0
    for c in needle:
        for h in it:
            if h == c:
                matched += 1
                break
        else:
            return False, matched
    return True, matched


# ------------------------------------------------------------------ a document model: blocks -> text + expectation

# CJK characters that make no structure on their own (no 第 章 节 条 附 件 专 栏 单 位 注 抄 送 表 页 共,
# none of TITLE's characters), a few repeated ones so that line ends and starts meet (`实` + `实验`)
CJK = list("科技创新企业研发资金支持补贴人才项目建设服务平台市区县年度经费申报审核管理发展实验室重点")
LATIN = list("abcXYZ0123456789")
PUNCT_FULL = list("，。；：、！？“”（）《》【】…—％")
PUNCT_HALF = list(",.;:!?()[]-%/")
SPACE = [" ", "\u3000"]
ALPHABET = CJK * 3 + LATIN + PUNCT_FULL + PUNCT_HALF + SPACE
assert not set(TITLE) & set(ALPHABET)

_words = st.text(alphabet=st.sampled_from(ALPHABET), min_size=1, max_size=60).filter(lambda s: s.strip())
_short = st.text(alphabet=st.sampled_from(CJK + LATIN), min_size=1, max_size=14)
_long = st.lists(st.text(alphabet=st.sampled_from(CJK * 4 + list("，、0123")), min_size=10, max_size=70),
                 min_size=3, max_size=8).map(lambda parts: "。".join(parts) + "。")
_end = st.sampled_from(["", "", "。", "；", "：", "!", "？", "）", "”"])
_cn = st.sampled_from(list("一二三四五六七八九十"))
_num = st.integers(min_value=1, max_value=12)


@st.composite
def paragraph(draw) -> dict:
    text = draw(st.one_of(_words, _long)) + draw(_end)
    return {"kind": "text", "lines": [text]}


@st.composite
def heading(draw) -> dict:
    title = draw(_short)
    form = draw(st.sampled_from(["chapter", "section", "l1", "l2", "l2half", "l3", "l3dun", "box", "attach",
                                 "attach-next", "article", "item", "circled"]))
    n, cn = draw(_num), draw(_cn)
    line = {
        "chapter": f"第{cn}章 {title}",
        "section": f"第{cn}节 {title}",
        "l1": f"{cn}、{title}",
        "l2": f"（{cn}）{title}",
        "l2half": f"({cn}) {title}",
        "l3": f"{n}. {title}",
        "l3dun": f"{n}、{title}",
        "box": f"专栏{n}{draw(st.sampled_from(['—', '-', '–', '－']))}{draw(_num)} {title}",
        "attach": f"附件{n}：{title}",
        "attach-next": f"附件{n}",
        "article": f"第{cn}条 {draw(_words)}{draw(_end)}",
        "item": f"（{n}）{draw(_words)}",
        "circled": f"{chr(0x2460 + n - 1)}{draw(_words)}",
    }[form]
    lines = [line]
    if form == "attach-next":
        lines.append(title)  # the attachment's title on the next line
    return {"kind": "text", "lines": lines}


_cell = st.text(alphabet=st.sampled_from(CJK + LATIN + [" ", "%", "."]), max_size=8)


@st.composite
def table(draw) -> dict:
    ncols = draw(st.integers(min_value=2, max_value=4))
    # a header line of empty cells is a blank line, not a table: at least one header cell says something
    header = draw(st.lists(_cell, min_size=ncols, max_size=ncols).filter(lambda cells: any(c.strip() for c in cells)))
    if draw(st.booleans()):
        header[0] = "序号"
    first = 1 if header[0] == "序号" else 0
    where = draw(st.sampled_from(["none", "last", "after-name"]))  # a 单位 column: after a value, or the row's unit
    if where == "last" and ncols >= 3:
        header[-1] = draw(st.sampled_from(UNIT_HEADERS))
    elif where == "after-name" and ncols >= first + 2:
        header[first + 1] = draw(st.sampled_from(UNIT_HEADERS))
    _unit_or_number = st.one_of(_cell, st.sampled_from(["万元", "家", "%", "元/人/月"]),
                                st.integers(0, 9999).map(str))
    rows = draw(st.lists(st.lists(_unit_or_number, min_size=ncols, max_size=ncols), min_size=0, max_size=4))
    if rows and draw(st.integers(0, 5)) == 0:
        rows.insert(draw(st.integers(0, len(rows))), list(header))  # a header repeated (a new page)
    caption = draw(st.one_of(st.none(), _short.map(lambda s: f"表{draw(_num)} {s}"), _short))
    unit = draw(st.one_of(st.none(), st.sampled_from(["单位：万元", "（单位：元）", "单位：个"])))
    note = draw(st.one_of(st.none(), _short.map(lambda s: f"注：{s}")))
    return {"kind": "table", "header": header, "rows": rows, "caption": caption, "unit": unit, "note": note}


@st.composite
def page_break(draw) -> dict:
    before = draw(st.one_of(st.none(), st.sampled_from(["— 3 —", "3", "第3页 共9页", "- 12 -", "2/9"])))
    after = draw(st.one_of(st.none(), st.sampled_from(["— 4 —", "4", "第4页"])))
    return {"kind": "break", "before": before, "after": after}


_block = st.one_of(paragraph(), paragraph(), heading(), heading(), table(), page_break(),
                   st.just({"kind": "blank"}), st.just({"kind": "backmatter"}))


@st.composite
def document(draw) -> tuple[str, list[str], list[str]]:
    """(text, the lines of the text in order, the unit lines) of a generated document."""
    blocks = draw(st.lists(_block, min_size=1, max_size=18))
    title_at = draw(st.one_of(st.none(), st.integers(0, 6)))
    if title_at is not None:
        blocks.insert(min(title_at, len(blocks)), {"kind": "title"})
    lines: list[str] = []  # every line, as written ("\f" alone marks a page break)
    units: list[str] = []
    for block in blocks:
        kind = block["kind"]
        if kind == "text":
            lines += block["lines"]
        elif kind == "title":
            lines.append(TITLE)
        elif kind == "blank":
            lines.append("")
        elif kind == "backmatter":
            lines.append("抄送：" + "".join(CJK[:4]))
        elif kind == "break":
            if block["before"]:
                lines.append(block["before"])
            lines.append("\f")
            if block["after"]:
                lines.append(block["after"])
        elif kind == "table":
            if lines and "\t" in lines[-1] or (lines and lines[-1] == "" and len(lines) > 1 and "\t" in lines[-2]):
                lines.append("另表如下。")  # two tables in a row would be one table
            if block["caption"]:
                lines.append(block["caption"])
            if block["unit"]:
                lines.append(block["unit"])
                units.append(block["unit"])
            for row in [block["header"], *block["rows"]]:
                lines.append("\t".join(row))
            header = [c.strip() for c in block["header"]]
            unit_cols = [i for i, h in enumerate(header) if i > 0 and normalize(h) in UNIT_HEADERS]
            for row in block["rows"]:  # a 单位 column's cells: checked for presence (they move to the values)
                if [c.strip() for c in row] != header and any(c.strip() for c in row):
                    units += [row[i] for i in unit_cols if content(row[i])]
            if block["note"]:
                lines.append(block["note"])
    text = "\n".join(lines).replace("\n\f\n", "\n\f").replace("\n\f", "\f").replace("\f\n", "\f")
    return text, lines, units


def expected_stream(text: str, title: str) -> str:
    """C(input) with the exemptions of the module docstring, in input order."""
    pages = text.split("\f")
    paged = len(pages) > 1
    out: list[str] = []
    prev_text_line: str | None = None  # the last non-blank, non-table line (for the doubled-character join)
    table: list[list[str]] = []

    def flush_table() -> None:
        if not table:
            return
        header, body = table[0], [r for r in table[1:] if r != table[0]]
        if not any(any(c for c in r) for r in body):  # no body row with content: the header's cells are the content
            if not body:
                out.append(content("".join(header)))
        else:
            unit_cols = {i for i, h in enumerate(header) if i > 0 and normalize(h) in UNIT_HEADERS}
            for row in body:
                out.append(content("".join(c for i, c in enumerate(row) if i not in unit_cols)))
        table.clear()

    lines_all: list[str] = []
    for page in pages:
        lines = page.split("\n")
        if paged:
            filled = [k for k, line in enumerate(lines) if line.strip()]
            for k in {filled[0], filled[-1]} if filled else ():
                if PAGE_NO_RE.match(re.sub(r"[ \u3000\xa0]+", " ", lines[k]).strip()):
                    lines[k] = ""  # a running page number: exempt
        lines_all.extend(lines)
    units = {i for i, line in enumerate(lines_all)
             if line.strip() and re.match(r"^[（(]?\s*单位\s*[:：]", line.strip())
             and i + 1 < len(lines_all) and "\t" in lines_all[i + 1]}
    for i, line in enumerate(lines_all):
        if "\t" in line and line.strip():
            table.append([c.strip() for c in line.split("\t")])
            continue
        if not line.strip():
            continue
        flush_table()
        if i in units:
            continue  # added to every row of its table: checked for presence, not order
        if line.strip() == title:
            continue  # it is the doc_title, at the front of the output
        chars = content(line)
        stripped = re.sub(r"[ \u3000\xa0\x0b]+", " ", line).strip()
        if (prev_text_line and stripped and is_cjk(stripped[0]) and prev_text_line[-1] == stripped[0]):
            chars = content(stripped[1:])  # `重点实` + `实验室`: the doubled character may be written once
        out.append(chars)
        prev_text_line = stripped
    flush_table()
    return "".join(out)


def check(text: str, title: str = TITLE, units: list[str] = ()) -> list:
    doc = Document(doc_id="d", title=title, text=text, path="d.txt", meta={})
    passages = segment(doc)
    # not empty, ordered, known kinds
    assert all(p.text.strip() for p in passages), [p for p in passages if not p.text.strip()]
    assert [p.order for p in passages] == list(range(len(passages)))
    assert {p.kind for p in passages} <= KINDS
    # ids unique and stable
    ids = [p.id for p in passages]
    assert len(set(ids)) == len(ids), [i for i in ids if ids.count(i) > 1]
    again = segment(Document(doc_id="d", title=title, text=str(text), path="d.txt", meta={}))
    assert [p.id for p in again] == ids
    assert [(p.section, p.text) for p in again] == [(p.section, p.text) for p in passages]
    # coverage, in order
    want, got = expected_stream(text, title), output_stream(passages, title)
    ok, matched = is_subsequence(want, got)
    assert ok, (f"lost from the input (first missing at C-offset {matched}): {want[matched:matched + 30]!r}\n"
                f"output: {[(p.section, p.text) for p in passages]}")
    everywhere = "".join(content("".join(p.section)) + content(p.text) for p in passages)
    for unit in units:
        assert content(unit) in everywhere, unit
    return passages


# ------------------------------------------------------------------ properties

# PA_HYPOTHESIS_EXAMPLES=3000 for a deeper search than the default (about 2 s per property)
EXAMPLES = int(os.environ.get("PA_HYPOTHESIS_EXAMPLES", "150"))
FAST = settings(max_examples=EXAMPLES, deadline=2000, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@FAST
@given(document())
# regressions (each failed before the fix noted in the report):
@example(("抄送：科技\n名称\t金额\n甲\t5\n", [], []))  # a table after 抄送： was dropped from the back matter
@example(("名称\t金额\n甲\t5\n" + TITLE + "\n第一条 内容。\n", [], []))  # a table before the title line (front matter)
@example(("第一章 0\n抄送：科技创新", [], []))  # a heading with nothing under it came after the back matter
@example(("\t\t\t单位\n\t\t\t单位\n\t\t\t0", [], ["0"]))  # a row of only a unit cell: an empty passage
def test_structured_documents_lose_nothing_and_keep_the_order(doc):
    text, _lines, units = doc
    check(text, units=units)


@FAST
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=400)
       | st.lists(st.sampled_from(["\f", "\t", "\n", "\r\n", "\r", "\x0b", "\x00", "\x1f", " ", "\u3000", "一、",
                                   "（一）", "1.", "第一条", "专栏1—2", "附件1", "表1", "单位：元", "注：", "抄送：",
                                   "科技", "企业", "。", "a\tb", "— 3 —"]), max_size=60).map("".join))
@example("一、甲 > （一）乙\n丙。\n一、甲\n（一）乙\n丙。\n")  # the same flat key from two sections: duplicate ids
@example("一、甲\n甲乙。\n甲乙。\n甲乙。\x1f1\n")  # a text ending in "\x1f1" met the next occurrence's key
def test_any_text_gives_nonempty_passages_with_unique_stable_ids(text):
    doc = Document(doc_id="d", title="标题", text=text, path="d.txt", meta={})
    passages = segment(doc)
    assert all(p.text.strip() for p in passages)
    ids = [p.id for p in passages]
    assert len(set(ids)) == len(ids)
    assert [p.id for p in segment(Document(doc_id="d", title="标题", text=text, path="d.txt", meta={}))] == ids
    assert [p.order for p in passages] == list(range(len(passages)))
    assert {p.kind for p in passages} <= KINDS
    assert all(p.id.startswith("d:") for p in passages)
    # nothing the reader could index is lost outright: every letter/number/symbol shows up somewhere
    seen = set(content(TITLE + "标题" + "".join(s for p in passages for s in p.section) + "".join(p.text for p in passages)))
    in_tables = set(content("".join(line for line in re.split(r"[\n\r\f]", text) if "\t" in line)))
    lost = set(content(text)) - seen - in_tables - set(content("".join(re.findall(r"\d", text))))
    assert not lost, lost


def test_examples_of_the_coverage_definition():
    # heading punctuation changes; the content is all there, in order
    check("一、总体要求\n（一）指导思想。\n(二) 基本原则\n1、坚持创新\n专栏1-2 重点项目\n第一条 目的。\n")
    # a page number at a page edge is dropped; the text around it is kept
    ps = check("第一条 内容一。\n— 3 —\f第二条 内容二。\n")
    assert not any("3" in p.text for p in ps)
    # a table: body rows as sentences, the unit line on each row
    ps = check("表1 资金\n单位：万元\n项目\t金额\n研发\t20\n人才\t30\n", units=["单位：万元"])
    assert [p.text for p in ps if p.kind == "table_row"] == ["研发：金额 20（单位：万元）", "人才：金额 30（单位：万元）"]
    # the title line is the doc_title
    check(TITLE + "\n一、总则\n内容。\n")
    # a 单位 column right after the name: the unit of the row's numbers (it was dropped)
    ps = check("主要指标\n指标\t单位\t2020年\t2025年\n高新技术企业数\t家\t4142\t6000\n技术合同\t项\t\t\n",
               units=["家", "项"])
    assert [p.text for p in ps if p.kind == "table_row"] == ["高新技术企业数：2020年 4142家；2025年 6000家",
                                                             "技术合同：单位 项"]
