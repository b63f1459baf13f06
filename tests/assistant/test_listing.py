"""Enumeration questions answered from the outline: every item of the heading that names what is asked, each cited."""
from __future__ import annotations

from assistant.pipeline.listing import Lister, items, outline


def test_the_principles_are_listed_whole_each_cited(assistant):
    ans = assistant.ask("十四五科技规划的基本原则有哪几条？")
    assert ans.answerable and "包括以下5项" in ans.answer
    for lead in ("坚持科技创新为引领", "坚持人才为第一资源", "坚持改革创新为动力", "坚持开放创新为重点", "坚持科技惠民为中心"):
        assert lead in ans.answer
        assert any(lead in c.text and c.quote and c.quote in c.text for c in ans.citations), lead
    assert [c.n for c in ans.citations] == list(range(1, len(ans.citations) + 1))
    assert all(c.section.startswith("一、总体要求 > （二）基本原则") for c in ans.citations)


def test_a_box_under_the_heading_holds_the_items_and_the_heading_paragraph_is_cited_first(assistant):
    ans = assistant.ask("长沙有哪些特色园区？")
    assert "长沙高新区" in ans.answer and "宁乡经开区" in ans.answer and "浏阳经开区" in ans.answer
    assert ans.citations[0].section.endswith("（三）培育壮大高科技特色园区")  # the heading's own paragraph
    assert len(ans.citations) >= 10


def test_one_item_named_by_the_question_is_answered_from_that_item(assistant):
    ans = assistant.ask("工程机械关键零部件重点研发哪些？")
    assert "包括以下" not in ans.answer
    assert ans.citations[0].section.endswith("关键零部件")
    assert "高压柱塞泵" in ans.answer


def test_english_list_question(assistant):
    ans = assistant.ask("What are the basic principles of the plan?")
    assert ans.answer.startswith("According to the plan") and "has 5 items" in ans.answer
    assert len(ans.citations) == 5


def test_outline_items_and_no_list_for_a_question_that_asks_for_none(assistant):
    nodes = outline(assistant.passages)
    principles = next(n for p, n in nodes.items() if p[-1] == "（二）基本原则")
    assert [lead[:2] for lead, _ in items(principles)] == ["1.", "2.", "3.", "4.", "5."]
    table = next(n for p, n in nodes.items() if p[-1].endswith("科技创新发展主要目标"))
    assert len(items(table)) == 14  # the indicator table's rows
    lister = Lister(assistant.passages, assistant.stats)
    assert lister.answer(assistant.understand("基本原则的第二条是什么？")) is None  # not an enumeration
