"""Segmentation of the real plan (corpus/changsha-sti-plan-2021-2025.txt) into citable passages."""
from __future__ import annotations

import re
import shutil
import unicodedata
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

# `assistant` first: importing `retrieval.ingest.documents` on its own currently hits a circular import
# (see test_imports.py, which checks that separately).
import assistant  # noqa: F401
from retrieval.ingest.documents import Document, load_document
from retrieval.ingest.segment import segment

ROOT = Path(__file__).resolve().parents[2]
PLAN = ROOT / "corpus" / "changsha-sti-plan-2021-2025.txt"
META = ROOT / "corpus" / "changsha-sti-plan-2021-2025.meta.json"

DOC_ID = "changsha-sti-plan-2021-2025"
DOC_TITLE = "长沙市“十四五”科技创新发展规划（2021—2025年）"
TABLE_CAPTION = "长沙市“十四五”期间科技创新发展主要目标"
PARK_SECTION = ("四、打造协同创新新标杆", "（三）培育壮大高科技特色园区", "专栏4—3 长沙特色专业园区协同创新发展重点")
PARKS = [
    "长沙高新区", "长沙经开区", "宁乡经开区", "浏阳经开区(高新区)", "望城经开区", "隆平高科技园",
    "金霞经开区", "雨花经开区", "天心经开区", "宁乡高新区", "岳麓高新区", "临空经济产业园",
    "计算和数字经济产业园",
]
PARAGRAPH_ENDS = "。；！？：”）)"
CJK = re.compile(r"[\u3400-\u9fff]")


def norm(s: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", s))


@pytest.fixture(scope="module")
def raw() -> str:
    return PLAN.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def doc():
    return load_document(PLAN)


@pytest.fixture(scope="module")
def passages(doc):
    return segment(doc)


@pytest.fixture(scope="module")
def table_rows(passages):
    return [p for p in passages if p.kind == "table_row"]


def _raw_table(raw: str) -> tuple[list[str], list[list[str]]]:
    lines = [line.split("\t") for line in raw.splitlines() if "\t" in line]
    header, *rows = lines
    return header, rows


# ------------------------------------------------------------------ the targets table


def test_table_has_one_passage_per_row(table_rows, raw):
    _header, rows = _raw_table(raw)
    assert len(rows) == 14
    assert len(table_rows) == 14
    for p in table_rows:
        assert p.section[0] == "一、总体要求"
        assert p.section[-1] == TABLE_CAPTION
        assert p.section_path.startswith("一、总体要求")
        assert p.section_path.endswith(TABLE_CAPTION)


def test_table_rows_follow_the_file_order(table_rows, raw):
    _header, rows = _raw_table(raw)
    assert [p.text.split("：", 1)[0] for p in table_rows] == [r[0].strip() for r in rows]


def test_high_tech_enterprise_row_reads_as_a_sentence(table_rows):
    texts = [p.text for p in table_rows]
    assert "高新技术企业数(家)：2020年 4142；2025年目标 6000" in texts


def test_every_row_carries_its_values_with_column_labels(table_rows, raw):
    _header, rows = _raw_table(raw)
    by_name = {p.text.split("：", 1)[0]: p.text for p in table_rows}
    for name, v2020, v2025 in rows:
        text = by_name[name.strip()]
        assert f"2025年目标 {v2025.strip()}" in text
        if v2020.strip():
            assert f"2020年 {v2020.strip()}" in text


def test_starred_values_carry_the_footnote_and_others_do_not(table_rows, raw):
    _header, rows = _raw_table(raw)
    by_name = {p.text.split("：", 1)[0]: p.text for p in table_rows}
    starred = [r for r in rows if any("*" in c for c in r[1:])]
    assert len(starred) == 4  # sanity: the file has four 2019 values
    for row in rows:
        text = by_name[row[0].strip()]
        if row in starred:
            assert "标*为2019年数值" in text, text
        else:
            assert "标*为2019年数值" not in text, text


def test_row_with_empty_2020_cell(table_rows):
    [row] = [p for p in table_rows if p.text.startswith("全社会研发(R&D)经费投入年均增长(%)")]
    assert "2025年目标 10.5" in row.text
    assert "2020年" not in row.text


# ------------------------------------------------------------------ section structure


def test_park_list_in_the_file(raw):
    """The parks of 专栏4—3, read from the file: one line each, `<name>。…`."""
    lines = [line.strip() for line in raw.splitlines()]
    start = next(i for i, line in enumerate(lines) if line.startswith("专栏4—3"))
    names = []
    for line in lines[start + 1:]:
        if not line:
            continue
        if re.match(r"^[（(][一二三四五六七八九十]+[）)]", line):
            break
        names.append(line.split("。", 1)[0])
    assert names == PARKS


@pytest.mark.parametrize("park", PARKS)
def test_each_park_is_its_own_passage(passages, park):
    found = [p for p in passages if p.section == PARK_SECTION + (park,)]
    assert len(found) == 1, [p.section_path for p in passages if park in p.section_path]
    assert found[0].text.startswith(park + "。")
    assert found[0].kind == "paragraph"
    # and no other passage carries this park as its topic
    assert sum(1 for p in passages if p.section[-1:] == (park,)) == 1


def test_box_topic_path(passages):
    paths = {p.section_path for p in passages}
    assert (
        "五、强化产业发展科技支撑 > （一）突破先进制造业高精尖技术 > "
        "专栏5—1 长沙工程机械技术创新发展重点 > 关键零部件"
    ) in paths
    [p] = [p for p in passages if p.section[-1:] == ("关键零部件",)]
    assert p.text.startswith("关键零部件。重点开展高桥荷比高可靠性底盘")


def test_numbered_paragraph_path(passages):
    path = "三、构建科技创新高地发展体系 > （三）培育壮大创新主体 > 2. 加强高新技术企业培育"
    found = [p for p in passages if p.section_path == path]
    assert len(found) == 1
    assert found[0].text.startswith("2. 加强高新技术企业培育。推动高新技术企业“量质双升”")


def test_ascii_parenthesised_heading_is_normalised_in_the_path(passages):
    # the file writes `(一) 指导思想` with ASCII parentheses
    assert any(p.section == ("一、总体要求", "（一）指导思想") for p in passages)


BOXES = [(3, n) for n in range(1, 7)] + [(4, n) for n in range(1, 4)] + [(5, n) for n in range(1, 11)] + [
    (6, n) for n in range(1, 5)
]


@pytest.mark.parametrize("chapter,number", BOXES, ids=[f"{a}-{b}" for a, b in BOXES])
def test_every_box_occurs_in_a_section_path(passages, chapter, number):
    label = f"专栏{chapter}—{number}"
    assert any(s == label or s.startswith(label + " ") for p in passages for s in p.section), label


def test_front_and_back_matter(passages):
    assert passages[0].kind == "front_matter"
    assert "长政办发〔2021〕30号" in passages[0].text
    assert passages[-1].kind == "back_matter"
    assert passages[-1].text.startswith("抄送：")
    assert [p.kind for p in passages].count("front_matter") == 1
    assert [p.kind for p in passages].count("back_matter") == 1


# ------------------------------------------------------------------ page-break repair


def test_word_split_at_a_page_break_is_joined(passages, raw):
    assert "核心\n\n竞争力" in raw  # the page break in the source
    assert any("核心竞争力的科技创新高地" in p.text for p in passages)


def test_character_doubled_at_a_page_break_is_written_once(passages, raw):
    assert "国家重点实\n\n实验室" in raw  # the doubled character in the source
    assert any("国家重点实验室、建设机械关键技术国家重点实验室" in p.text for p in passages)
    assert not any("实实验室" in p.text for p in passages)


def test_no_passage_ends_at_a_former_page_break(passages, raw):
    lines = [line.strip() for line in raw.splitlines() if line.strip()]
    broken = [
        line for line, nxt in zip(lines, lines[1:])
        if "\t" not in line and "\t" not in nxt and line[-1] not in PARAGRAPH_ENDS
    ]
    assert len(broken) >= 10  # sanity: the export has many page breaks mid-sentence
    ends = [norm(p.text) for p in passages]
    for line in broken:
        n = norm(line)
        assert not any(e.endswith(n) for e in ends), f"a passage ends at the page break after {line!r}"


def test_every_paragraph_ends_a_sentence(passages):
    for p in passages:
        if p.kind == "paragraph":
            assert p.text[-1] in PARAGRAPH_ENDS, (p.section_path, p.text[-30:])


# ------------------------------------------------------------------ passage hygiene


def test_no_empty_passage(passages):
    assert len(passages) > 100
    assert all(p.text.strip() for p in passages)


def test_paragraphs_are_bounded(passages):
    assert max(len(p.text) for p in passages if p.kind == "paragraph") <= 400


def test_long_paragraphs_are_split_at_sentence_ends(passages):
    # 七、（二）深化体制机制改革 is one paragraph of ~470 characters in the file
    parts = [p for p in passages if p.section == ("七、加强规划实施保障", "（二）深化体制机制改革")]
    assert len(parts) >= 2
    assert all(p.text[-1] in "。；" for p in parts)
    assert parts[0].text.startswith("更深层次推进创新联合体")


def test_headings_are_not_passages(passages, raw):
    heading_re = re.compile(
        r"^(?:[一二三四五六七八九十]+、\S{1,40}"
        r"|[（(][一二三四五六七八九十]+[）)]\s*\S{1,40}"
        r"|\d{1,2}\.\s*[^。]{1,20}"
        r"|专栏\d+—\d+.*)$"
    )
    headings = {norm(line) for line in raw.splitlines() if heading_re.match(line.strip())}
    assert {norm("（三）培育壮大创新主体"), norm("1. 工程机械"), norm("一、总体要求")} <= headings
    texts = {norm(p.text) for p in passages}
    assert not headings & texts
    for literal in ("（三）培育壮大创新主体", "(三) 培育壮大创新主体", "1. 工程机械", "专栏5—1 长沙工程机械技术创新发展重点"):
        assert all(p.text.strip() != literal for p in passages)


def test_nothing_is_lost(passages, raw):
    """Every raw line (or table cell) is found in the passages' texts or section labels."""
    texts = "".join(norm(p.text) for p in passages)  # the pieces of a split paragraph join up again
    labels = "\x00".join(norm(s) for p in passages for s in p.section)
    haystack = texts + "\x00" + labels
    header, _rows = _raw_table(raw)
    missing = []
    prev = ""
    for line in raw.splitlines():
        if not line.strip():
            continue
        cells = line.split("\t") if "\t" in line else [line]
        for i, cell in enumerate(cells):
            n = norm(cell)
            if not n or (cells == header and i == 0):
                continue  # `指标名称` names the first column; each row passage starts with that name
            if n in haystack:
                continue
            if prev and prev[-1] == n[0] and n[1:] in haystack:
                continue  # a character doubled across a page break is written once
            missing.append(cell)
        prev = norm(cells[-1])
    assert not missing, missing[:5]


# ------------------------------------------------------------------ ids and metadata


def test_ids_are_unique_and_stable(doc, passages):
    ids = [p.id for p in passages]
    assert len(set(ids)) == len(ids)
    assert [p.id for p in segment(doc)] == ids
    assert [p.id for p in segment(load_document(PLAN))] == ids
    assert all(pid.startswith(DOC_ID + ":") for pid in ids)


def test_order_is_the_reading_order(passages):
    assert [p.order for p in passages] == list(range(len(passages)))


def test_editing_one_paragraph_changes_only_its_id(tmp_path, raw, passages):
    old = "布局建设国家基础学科研究中心，重点在材料、信息、生物、航空航天等方向超前部署一批长期性基础性研究。"
    assert raw.count(old) == 1
    new = old.replace("一批长期性基础性研究", "一批长期性、基础性、前沿性研究")
    (tmp_path / PLAN.name).write_text(raw.replace(old, new), encoding="utf-8")
    shutil.copy(META, tmp_path / META.name)
    edited = segment(load_document(tmp_path / PLAN.name))

    assert len(edited) == len(passages)
    before = [p.id for p in passages]
    after = [p.id for p in edited]
    changed = [i for i, (a, b) in enumerate(zip(before, after)) if a != b]
    assert len(changed) == 1
    [i] = changed
    assert edited[i].text.endswith("一批长期性、基础性、前沿性研究。")
    assert edited[i].section == passages[i].section
    assert edited[i].section[-1] == "加强基础研究能力建设"


def test_document_metadata(doc, passages):
    assert doc.doc_id == DOC_ID
    assert doc.title == DOC_TITLE
    assert doc.meta["doc_number"] == "长政办发〔2021〕30号"
    assert doc.meta["issuer"] == "长沙市人民政府办公厅"
    for p in passages:
        assert p.doc_id == DOC_ID
        assert p.doc_title == DOC_TITLE
        assert p.meta["doc_number"] == "长政办发〔2021〕30号"
        assert p.meta["issuer"] == "长沙市人民政府办公厅"


# ------------------------------------------------------------------ properties of segment()

_cjk = st.characters(min_codepoint=0x4E00, max_codepoint=0x9FA5)
_other = st.sampled_from(list("，。；：、！？“”（）()0123456789 ab"))
_chunk = st.text(alphabet=st.one_of(_cjk, _cjk, _other), min_size=1, max_size=40)
_long = st.text(alphabet=st.one_of(_cjk, _cjk, _cjk, st.sampled_from(list("，。；"))), min_size=150, max_size=600)
_prefix = st.sampled_from(
    ["", "", "", "", "一、", "二、 ", "（二）", "(三) ", "1. ", "2．", "10、", "专栏3—1 ", "专栏4-2", "第一章 ", "注：", "抄送："]
)
_line = st.one_of(st.builds(lambda p, c: p + c, _prefix, _chunk), _long, st.just(""))
_text = st.lists(_line, min_size=1, max_size=25).map("\n".join)


@settings(max_examples=60, deadline=None, database=None)
@given(text=_text)
def test_segment_properties(text):
    doc = Document(doc_id="x", title="测试", text=text, path="x.txt", meta={})
    ps = segment(doc)
    assert all(p.text.strip() for p in ps)
    ids = [p.id for p in ps]
    assert len(set(ids)) == len(ids)
    assert [p.id for p in segment(doc)] == ids
    assert [p.order for p in ps] == list(range(len(ps)))
    assert all(p.kind in {"paragraph", "table_row", "front_matter", "back_matter", "heading"} for p in ps)


@settings(max_examples=60, deadline=None, database=None)
@given(text=_text)
def test_segment_loses_no_chinese_character(text):
    """Every CJK character of the input is in some passage text or section label."""
    ps = segment(Document(doc_id="x", title="测试", text=text, path="x.txt", meta={}))
    seen = set("".join(p.text for p in ps)) | set("".join(s for p in ps for s in p.section))
    lost = {c for c in text if CJK.match(c)} - seen
    assert not lost, lost
