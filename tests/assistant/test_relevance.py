"""Unit tests of the answer/refuse evidence checks (assistant.language.terms) on hand-made passages."""
from __future__ import annotations

import pytest

from assistant.language.values import ANSWER_TYPES
from assistant.language.terms import analyse, coverage
from assistant.language.requirements import provides
from assistant.language.stats import TermStats
from retrieval.passage import Passage

PASSAGES = [
    Passage("t:1", "t", "测试规划", ("一、发展目标",), "到2025年，长沙市高新技术企业数量达到6000家以上。", 0),
    Passage("t:2", "t", "测试规划", ("二、重点任务",), "支持岳麓山大学科技城建设，培育科技型中小企业。", 1),
    Passage("t:3", "t", "测试规划", ("二、重点任务",), "研发投入强度达到3.2%，建设一批新型研发机构。", 2),
]


@pytest.fixture(scope="module")
def stats():
    return TermStats(PASSAGES)


def terms(q: str, stats: TermStats, search_text: str | None = None):
    return analyse(q, search_text or q, stats)


def test_answer_types_table():
    assert {"money", "contact", "deadline", "date"} <= set(ANSWER_TYPES)
    for asks, holds in ANSWER_TYPES.values():
        assert hasattr(asks, "search") and hasattr(holds, "search")


@pytest.mark.parametrize(
    "question, kind",
    [
        ("高企认定能拿多少万元补贴？", "money"),
        ("How much money does a high-tech enterprise get?", "money"),
        ("市科技局的咨询电话是多少？", "contact"),
        ("科技型中小企业评价几月几日截止申报？", "deadline"),
    ],
    ids=["money-zh", "money-en", "contact", "deadline"],
)
def test_asked_types(stats, question, kind):
    assert kind in terms(question, stats).asked_types


def test_plain_question_asks_no_special_type(stats):
    assert terms("2025年高新技术企业数量目标是多少？", stats).asked_types == []


def test_money_needs_an_amount(stats):
    t = terms("高企认定能拿多少万元补贴？", stats, "高新技术企业认定能拿多少万元支持？")
    assert "money" in t.asked_types
    assert provides(t, "支持高新技术企业发展，完善分类认定扶持政策。") is False
    assert provides(t, "长沙市高新技术企业数量达到6000家以上。") is False  # a count is not money
    assert provides(t, "给予最高50万元奖励") is True
    assert provides(t, "给予最高1亿元资助") is True


def test_contact_needs_a_number_or_address(stats):
    t = terms("市科技局的咨询电话是多少？", stats)
    assert provides(t, "市科技局负责统筹协调。") is False
    assert provides(t, "咨询电话：0731-88665432") is True


def test_years_in_question_must_appear(stats):
    t = terms("2025年高新技术企业数量目标是多少？", stats)
    assert t.years == ["2025"]
    assert provides(t, "到2025年，长沙市高新技术企业数量达到6000家以上。") is True
    assert provides(t, "长沙市高新技术企业数量达到6000家以上。") is False
    assert provides(t, "到2030年，长沙市高新技术企业数量达到6000家以上。") is False


def test_numbers_in_question_must_appear(stats):
    t = terms("研发投入强度3.2%是哪年的目标？", stats)
    assert t.numbers == ["3.2"] and t.years == []
    assert provides(t, "到2025年，研发投入强度达到3.2%。") is True
    assert provides(t, "到2025年，研发投入强度达到3%。") is False
    assert provides(t, "研发投入强度达到3.2%。") is False  # 哪年 asks for a year: this sentence names none


def test_question_number_is_not_matched_inside_a_longer_number(stats):
    t = terms("研发投入强度3.2%是哪年的目标？", stats)
    assert provides(t, "研发投入强度达到13.2%。") is False


def test_unknown_proper_noun_is_reported(stats):
    t = terms("深圳的高新技术企业政策是什么？", stats)
    assert "深圳" in t.unknown_names
    # a name the corpus does contain is not unknown
    t2 = terms("长沙市高新技术企业数量目标是多少？", stats)
    assert t2.unknown_names == []


def test_unknown_term_gets_the_highest_weight(stats):
    assert stats.idf("深圳") == pytest.approx(stats.max_idf)
    assert stats.idf("高新技术企业") < stats.max_idf
    assert stats.idf("企业") < stats.idf("高新技术企业")  # in every passage vs one


def test_coverage(stats):
    t = terms("2025年高新技术企业数量目标是多少？", stats)
    full = coverage(t, PASSAGES[0].index_text)
    other = coverage(t, PASSAGES[1].index_text)
    assert full == pytest.approx(1.0)
    assert 0.0 <= other < 0.5
    assert coverage(t, "") == 0.0
    # an unknown name lowers coverage of otherwise matching text
    t_sz = terms("深圳的高新技术企业数量目标是多少？", stats)
    assert coverage(t_sz, PASSAGES[0].index_text) < 0.8


def test_coverage_of_question_without_terms_is_zero(stats):
    assert coverage(terms("是什么？", stats), PASSAGES[0].index_text) == 0.0
