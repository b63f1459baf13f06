"""Segmentation of policy documents in general: 章/节/条, items, 附件, tables with units, page numbers.

The 管理办法 below is INVENTED TEST DATA (no such document exists); it imitates the layout of a
regulation exported from PDF/Word: a title line, 第X章 / 第X节 / 第X条, （一） and （1） items, tables
with units in their header cells, a caption and a unit line, form feeds with page-number footers,
and two 附件.
"""
from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

# `assistant` first: importing `retrieval.ingest.documents` on its own hits a circular import (see test_imports.py)
import assistant  # noqa: F401
from retrieval.ingest.documents import Document, load_document
from retrieval.ingest.segment import PAGE_NO_RE, segment

ROOT = Path(__file__).resolve().parents[2]
PLAN = ROOT / "corpus" / "changsha-sti-plan-2021-2025.txt"

# Frozen before the segmenter was generalised: sha1 over (id, section, text, kind, order) of every
# passage of the bundled plan. The evaluation set and stored citations depend on these passages.
PLAN_PASSAGES = 189
PLAN_FINGERPRINT = "37e5820b1713d0796129cd4c880658d2dd605636"

TITLE = "长沙市科技创新专项资金管理办法（试行）"
ARTICLE_9 = (
    "第九条 支持企业联合高校院所共建研发平台，鼓励企业牵头组建创新联合体。"
    "对围绕产业链关键环节开展核心技术攻关的项目，按项目研发投入的30%给予支持，最高不超过300万元。"
    "对承担国家重大科技专项并落地转化的项目，按国家资助资金的10%给予配套支持。"
    "对年度绩效评价为优秀的创新联合体，次年给予滚动支持，支持额度不超过上年度的50%。"
    "支持资金主要用于研发设备购置、人员费用、测试化验加工及知识产权事务等直接费用。"
    "项目承担单位应当建立专账，对支持资金实行单独核算，确保专款专用。"
    "项目完成后，承担单位应当在三个月内提交结题报告和资金决算报告，并接受第三方机构的绩效评价。"
    "市科学技术局会同市财政局对项目实施情况开展跟踪检查，对弄虚作假的单位收回支持资金。"
)

# INVENTED TEST DATA — not a real document.
POLICY_TEXT = (
    f"{TITLE}\n"
    "\n"
    "第一章 总则\n"
    "第一条 为规范长沙市科技创新专项资金（以下简称专项资金）管理，提高资金使用效益，根据有关规定，结合本市实际，制定本办法。\n"
    "第二条 本办法所称专项资金，是指市本级财政预算安排，用于支持本市科技创新活动的资金。\n"
    "第三条 专项资金的使用和管理遵循以下原则：\n"
    "（一）公开透明，择优支持；\n"
    "（二）突出重点，注重绩效；\n"
    "（三）专款专用，强化监督。\n"
    "第二章 支持措施\n"
    "第四条 支持对象包括：\n"
    "（一）高新技术企业\n"
    "（二）科技型中小企业\n"
    "（三）新型研发机构\n"
    "第五条 对首次认定的高新技术企业给予一次性奖励，具体标准如下：\n"
    "表1 高新技术企业奖励标准\n"
    "支持类型\t支持标准（万元）\t比例(%)\n"
    "高新技术企业首次认定\t20\t100\n"
    "高新技术企业重新认定\t10\t50\n"
    "注：奖励资金分两年拨付。\n"
    "第六条 企业研发投入后补助按以下方式计算\n"
    "（1）上年度研发投入不超过1000万元的，按10%给予补助；\n"
    "（2）上年度研发投入超过1000万元的，按15%给予补助。\n"
    "第七条 支持方式包括：\n"
    "（一）研发补助\n"
    "对企业研发投入给予后补助，具体按第六条执行。\n"
    "（二）平台奖励\n"
    "对新认定的国家级创新平台给予一次性奖励。\n"
    "第八条 对在本市实施重大科技成果转化项目的企业，按项目\n"
    "\n"
    "— 1 —\n"
    "\f"
    "实际投入的20%给予补助，最高不超过500万元。\n"
    f"{ARTICLE_9}\n"
    "第三章 平台建设\n"
    "第一节 创新平台\n"
    "第十条 对新获批的国家级重点实验室给予500万元支持。\n"
    "第二节 孵化载体\n"
    "第十一条 对新认定的国家级科技企业孵化器给予奖励，标准如下：\n"
    "（单位：万元）\n"
    "载体类型\t国家级\t省级\n"
    "孵化器\t100\t50\n"
    "众创空间\t50\t20\n"
    "第四章 附则\n"
    "第十二条 本办法由市科学技术局负责解释，自2024年1月1日起施行。\n"
    "— 2 —\n"
    "\f"
    "附件1\n"
    "长沙市科技创新专项资金支持标准\n"
    "序号\t支持类型\t支持标准（万元）\t备注\n"
    "1\t国家级重点实验室\t500\t一次性\n"
    "2\t省级重点实验室\t100\t\n"
    "\f"
    "序号\t支持类型\t支持标准（万元）\t备注\n"
    "3\t市级重点实验室\t50\t分两年拨付\n"
    "附件2：专项资金申报材料清单\n"
    "申报单位需提交以下材料\n"
    "（1）项目申报书\n"
    "（2）营业执照复印件\n"
)


def norm(s: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", s))


def policy_doc(text: str = POLICY_TEXT, title: str = TITLE) -> Document:
    return Document(doc_id="cs-fund", title=title, text=text, path="cs-fund.txt", meta={"issuer": "长沙市科学技术局"})


@pytest.fixture(scope="module")
def ps():
    return segment(policy_doc())


def by_path(ps, path: str):
    return [p for p in ps if p.section_path == path]


def fingerprint(passages) -> str:
    h = hashlib.sha1()
    for p in passages:
        record = [p.id, list(p.section), p.text, p.kind, p.order]
        h.update(json.dumps(record, ensure_ascii=False).encode())
        h.update(b"\n")
    return h.hexdigest()


# ------------------------------------------------------------------ the bundled plan is unchanged


def test_plan_passages_are_frozen():
    passages = segment(load_document(PLAN))
    assert len(passages) == PLAN_PASSAGES
    assert fingerprint(passages) == PLAN_FINGERPRINT
    assert not any("page" in p.meta for p in passages)  # no form feeds, no page numbers


# ------------------------------------------------------------------ articles


def test_articles_are_sections_under_their_chapter(ps):
    [p] = by_path(ps, "第二章 支持措施 > 第八条")
    assert p.text.startswith("第八条 ")
    assert p.section == ("第二章 支持措施", "第八条")
    assert p.kind == "paragraph"
    assert by_path(ps, "第一章 总则 > 第一条")[0].text.startswith("第一条 为规范")
    assert by_path(ps, "第四章 附则 > 第十二条")


def test_sections_sit_between_chapter_and_article(ps):
    [p] = by_path(ps, "第三章 平台建设 > 第一节 创新平台 > 第十条")
    assert p.text == "第十条 对新获批的国家级重点实验室给予500万元支持。"
    assert by_path(ps, "第三章 平台建设 > 第二节 孵化载体 > 第十一条")
    # a new 节 closes the previous one; a new 章 closes both
    assert not any("第一节 创新平台" in p.section and "第十一条" in p.section for p in ps)
    assert all(p.section[0] == "第四章 附则" for p in ps if "第十二条" in p.section)


def test_items_of_an_article_stay_in_the_article(ps):
    [p] = by_path(ps, "第一章 总则 > 第三条")
    assert p.text == "第三条 专项资金的使用和管理遵循以下原则：\n（一）公开透明，择优支持；\n（二）突出重点，注重绩效；\n（三）专款专用，强化监督。"
    # short items without punctuation are items too, not headings
    [p] = by_path(ps, "第二章 支持措施 > 第四条")
    assert p.text.splitlines() == ["第四条 支持对象包括：", "（一）高新技术企业", "（二）科技型中小企业", "（三）新型研发机构"]
    assert not any("（一）高新技术企业" in s for p in ps for s in p.section)
    assert not any(p.kind == "heading" for p in ps)


def test_title_like_item_with_text_under_it_is_a_heading_inside_the_article(ps):
    [p] = by_path(ps, "第二章 支持措施 > 第七条 > （一）研发补助")
    assert p.text == "对企业研发投入给予后补助，具体按第六条执行。"
    assert by_path(ps, "第二章 支持措施 > 第七条 > （二）平台奖励")
    assert by_path(ps, "第二章 支持措施 > 第七条")[0].text == "第七条 支持方式包括："


def test_long_article_is_split_at_sentence_ends(ps):
    assert len(ARTICLE_9) > 300
    parts = by_path(ps, "第二章 支持措施 > 第九条")
    assert len(parts) >= 2
    assert parts[0].text.startswith("第九条 ")
    assert all(p.text[-1] == "。" for p in parts)
    assert all(len(p.text) <= 340 for p in parts)
    assert "".join(p.text for p in parts) == ARTICLE_9


def test_article_continues_across_a_line_break_in_a_sentence():
    text = "第一章 总则\n第五条 申报单位应当符合本办法\n第三条规定的条件。\n第六条 本办法自发布之日起施行。\n"
    ps = segment(policy_doc(text, "某办法"))
    assert [(p.section_path, p.text) for p in ps] == [
        ("第一章 总则 > 第五条", "第五条 申报单位应当符合本办法第三条规定的条件。"),
        ("第一章 总则 > 第六条", "第六条 本办法自发布之日起施行。"),
    ]


def test_article_with_arabic_numerals_and_no_chapter():
    ps = segment(policy_doc("第1条 为了规范管理，制定本办法。\n第2条 本办法自发布之日起施行。\n", "某办法"))
    assert [p.section for p in ps] == [("第1条",), ("第2条",)]


# ------------------------------------------------------------------ （1） items


def test_parenthesised_arabic_items_start_a_new_line(ps):
    [p] = by_path(ps, "第二章 支持措施 > 第六条")
    assert p.text.splitlines() == [
        "第六条 企业研发投入后补助按以下方式计算",
        "（1）上年度研发投入不超过1000万元的，按10%给予补助；",
        "（2）上年度研发投入超过1000万元的，按15%给予补助。",
    ]


def test_parenthesised_arabic_items_outside_an_article_are_paragraphs(ps):
    found = by_path(ps, "附件2 专项资金申报材料清单")
    assert [(p.kind, p.text) for p in found] == [
        ("paragraph", "申报单位需提交以下材料"),
        ("paragraph", "（1）项目申报书"),
        ("paragraph", "（2）营业执照复印件"),
    ]


# ------------------------------------------------------------------ tables


def test_table_rows_keep_values_with_their_units(ps):
    rows = by_path(ps, "第二章 支持措施 > 第五条 > 表1 高新技术企业奖励标准")
    assert [p.kind for p in rows] == ["table_row", "table_row"]
    assert [p.text for p in rows] == [
        "高新技术企业首次认定：支持标准 20万元；比例 100%（注：奖励资金分两年拨付。）",
        "高新技术企业重新认定：支持标准 10万元；比例 50%（注：奖励资金分两年拨付。）",
    ]
    # the caption is the section label, not a passage of its own
    assert not any(p.text == "表1 高新技术企业奖励标准" for p in ps)


def test_unit_line_before_a_table_goes_with_every_row(ps):
    rows = [p for p in ps if p.kind == "table_row" and "第十一条" in p.section]
    assert [p.text for p in rows] == ["孵化器：国家级 100；省级 50（单位：万元）", "众创空间：国家级 50；省级 20（单位：万元）"]
    assert rows[0].section == ("第三章 平台建设", "第二节 孵化载体", "第十一条")


def test_caption_ending_in_a_bracket_and_merged_name_cells():
    text = (
        "一、支持标准\n"
        "表2 研发补助标准（单位：万元）\n"
        "支持类型\t支持对象\t支持标准\n"
        "平台建设\t国家级重点实验室\t500\n"
        "\t省级重点实验室\t100\n"
        "人才引进\t领军人才\t200\n"
    )
    ps = segment(policy_doc(text, "某办法"))
    assert [(p.section_path, p.text) for p in ps] == [
        ("一、支持标准 > 表2 研发补助标准（单位：万元）", "平台建设：支持对象 国家级重点实验室；支持标准 500（单位：万元）"),
        ("一、支持标准 > 表2 研发补助标准（单位：万元）", "平台建设：支持对象 省级重点实验室；支持标准 100（单位：万元）"),
        ("一、支持标准 > 表2 研发补助标准（单位：万元）", "人才引进：支持对象 领军人才；支持标准 200（单位：万元）"),
    ]


def test_single_tab_line_is_kept():
    ps = segment(policy_doc("一、联系方式\n联系人\t张老师\n", "某办法"))
    assert [p.text for p in ps] == ["联系人；张老师"]


# ------------------------------------------------------------------ 附件


def test_attachment_opens_a_top_level_section(ps):
    rows = by_path(ps, "附件1 长沙市科技创新专项资金支持标准")
    assert [p.text for p in rows] == [
        "1. 国家级重点实验室：支持标准 500万元；备注 一次性",
        "2. 省级重点实验室：支持标准 100万元",
        "3. 市级重点实验室：支持标准 50万元；备注 分两年拨付",  # the header repeated on page 4 is dropped
    ]
    assert all(p.kind == "table_row" for p in rows)
    assert by_path(ps, "附件2 专项资金申报材料清单")
    # the 附件 resets the heading stack: nothing after it is under 第四章
    after = ps[ps.index(rows[0]):]
    assert all(p.section[0].startswith("附件") for p in after)


@pytest.mark.parametrize(
    "line,label",
    [("附件", "附件"), ("附件1", "附件1"), ("附件 3", "附件3"), ("附件1：申报书", "附件1 申报书"), ("附件：申报书", "附件 申报书")],
)
def test_attachment_line_forms(line, label):
    text = f"第一章 总则\n第一条 本办法自发布之日起施行。\n{line}\n申报单位应当如实填写。\n"
    ps = segment(policy_doc(text, "某办法"))
    assert ps[-1].section == (label,)
    assert ps[-1].text == "申报单位应当如实填写。"


def test_attachment_mentioned_in_a_sentence_is_not_a_heading():
    text = "一、申报要求\n申报单位应当按照附件1所列格式填写，并于5月31日前报送。\n"
    ps = segment(policy_doc(text, "某办法"))
    assert [p.section for p in ps] == [("一、申报要求",)]


# ------------------------------------------------------------------ pages


def test_page_numbers_follow_form_feeds(ps):
    page = {p.section_path: p.meta["page"] for p in ps}
    assert page["第一章 总则 > 第一条"] == 1
    assert page["第二章 支持措施 > 第八条"] == 1  # starts on page 1, ends on page 2
    assert page["第三章 平台建设 > 第一节 创新平台 > 第十条"] == 2
    assert page["附件2 专项资金申报材料清单"] == 4
    rows = by_path(ps, "附件1 长沙市科技创新专项资金支持标准")
    assert [p.meta["page"] for p in rows] == [3, 3, 4]
    assert all(isinstance(p.meta["page"], int) for p in ps)
    assert all(p.meta["issuer"] == "长沙市科学技术局" for p in ps)  # the document's metadata is kept


def test_paragraph_broken_at_a_page_break_is_joined_and_the_footer_dropped(ps):
    [p] = by_path(ps, "第二章 支持措施 > 第八条")
    assert p.text == "第八条 对在本市实施重大科技成果转化项目的企业，按项目实际投入的20%给予补助，最高不超过500万元。"
    assert not any("— 1 —" in p.text or "— 2 —" in p.text for p in ps)


def test_split_pieces_get_the_page_they_start_on():
    sentence = "对符合条件的企业按研发投入的一定比例给予后补助，补助资金统筹用于研发活动。"
    text = "一、研发补助\n" + sentence * 5 + "\f" + sentence * 5 + "\n"
    ps = segment(policy_doc(text, "某办法"))
    assert len(ps) >= 2
    assert ps[0].meta["page"] == 1
    assert ps[-1].meta["page"] == 2


def test_text_without_form_feeds_gets_no_page():
    ps = segment(policy_doc(POLICY_TEXT.replace("\f", "\n")))
    assert ps and not any("page" in p.meta for p in ps)
    # the page meta is per passage; without pages the document's dict is shared as before
    assert all(p.meta == {"issuer": "长沙市科学技术局"} for p in ps)


def test_page_meta_is_not_shared_between_passages(ps):
    assert len({id(p.meta) for p in ps}) == len(ps)


# ------------------------------------------------------------------ title, nothing lost, ids


def test_title_line_is_not_a_passage(ps):
    assert not any(norm(TITLE) in norm(p.text) for p in ps)
    assert not any(p.section == ("前言",) for p in ps)
    assert ps[0].section == ("第一章 总则", "第一条")
    assert all(p.doc_title == TITLE for p in ps)


def test_title_is_kept_when_it_is_not_the_first_line():
    ps = segment(policy_doc("为了规范管理，制定本办法。\n" + TITLE + "\n", "某办法"))
    assert [p.text for p in ps] == ["为了规范管理，制定本办法。", TITLE]


def test_nothing_is_lost(ps):
    """Every input line (or table cell) is in some passage text or section label, modulo whitespace.

    Not expected: the title line (it is the doc_title), page-number footers, and the header
    cells that name the row-name column (序号 / 支持类型: each row passage starts with its name).
    """
    texts = "".join(norm(p.text) for p in ps)
    labels = "\x00".join(norm(s) for p in ps for s in p.section)
    haystack = texts + "\x00" + labels
    missing = []
    header = None
    for line in re.split(r"[\n\f]", POLICY_TEXT):
        if not line.strip() or line.strip() == TITLE or PAGE_NO_RE.match(line.strip()):
            header = None if "\t" not in line else header
            continue
        if "\t" not in line:
            header = None
            if norm(line) not in haystack and norm(line).replace(":", "", 1) not in haystack:  # `附件2：` -> `附件2 `
                missing.append(line)
            continue
        cells = line.split("\t")
        if header is None:
            header = cells
            name_cols = 2 if cells[0] == "序号" else 1
            cells = cells[name_cols:]
            # a header's unit moves next to each value (支持标准（万元） 20 -> 支持标准 20万元): the name must stay
            cells = [re.sub(r"\s*[（(][^)）]*[)）]$", "", c) for c in cells]
        missing += [c for c in cells if norm(c) and norm(c) not in haystack]
    assert not missing, missing


def test_ids_are_stable_and_unique(ps):
    again = segment(policy_doc())
    assert [p.id for p in again] == [p.id for p in ps]
    assert [(p.section, p.text, p.kind, p.meta) for p in again] == [(p.section, p.text, p.kind, p.meta) for p in ps]
    assert len({p.id for p in ps}) == len(ps)
    assert all(p.id.startswith("cs-fund:") for p in ps)
    assert [p.order for p in ps] == list(range(len(ps)))


def test_page_breaks_do_not_change_ids(ps):
    """Moving page breaks (a re-export with other margins) keeps every passage id."""
    moved = re.sub(r"— \d —\n", "", POLICY_TEXT).replace("\f", "\n").replace("第十条", "\f第十条", 1)
    assert [p.id for p in segment(policy_doc(moved))] == [p.id for p in ps]


# ------------------------------------------------------------------ properties

_cjk = st.characters(min_codepoint=0x4E00, max_codepoint=0x9FA5)
_other = st.sampled_from(list("，。；：、！？“”（）()0123456789 ab"))
_chunk = st.text(alphabet=st.one_of(_cjk, _cjk, _other), min_size=1, max_size=40)
_prefix = st.sampled_from(
    ["", "", "", "第一章 ", "第二节 ", "第三条 ", "第12条", "（一）", "（1）", "(2)", "①", "1. ", "附件", "附件1：",
     "表1 ", "单位：", "注：", "— 3 —", "\f"]
)
_cell = st.text(alphabet=st.one_of(_cjk, st.sampled_from(list("0123456789（）%"))), max_size=8)
_row = st.lists(_cell, min_size=2, max_size=4).map("\t".join)
_line = st.one_of(st.builds(lambda p, c: p + c, _prefix, _chunk), _row, st.just(""), st.just("\f"))
_text = st.lists(_line, min_size=1, max_size=25).map("\n".join)


@settings(max_examples=80, deadline=None, database=None)
@given(text=_text)
def test_policy_segment_properties(text):
    doc = Document(doc_id="x", title="测试", text=text, path="x.txt", meta={})
    ps = segment(doc)
    assert all(p.text.strip() for p in ps)
    ids = [p.id for p in ps]
    assert len(set(ids)) == len(ids)
    assert [p.id for p in segment(doc)] == ids
    assert [p.order for p in ps] == list(range(len(ps)))
    pages = text.count("\f") + 1
    for p in ps:
        assert ("page" in p.meta) == ("\f" in text)
        if "\f" in text:
            assert 1 <= p.meta["page"] <= pages
    seen = set("".join(p.text for p in ps)) | set("".join(s for p in ps for s in p.section))
    # a table's header cells may be left out (the row-name column's header; a column with no values)
    in_tables = set("".join(line for line in text.splitlines() if "\t" in line))
    lost = {c for c in text if "\u4e00" <= c <= "\u9fa5"} - seen - in_tables - set("测试")
    assert not lost, lost
