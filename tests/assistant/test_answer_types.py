"""Typed values: what kind of value a question asks for (an amount, a percentage, a count, a year, a place …)
and whether a sentence holds one: features of the evidence stage (the real plan through the real pipeline)."""
from __future__ import annotations

import pytest

from assistant.language.values import ANSWER_TYPES, asked_types, holds


@pytest.mark.parametrize("question, kind", [
    ("高企首次认定能拿多少万元？", "money"), ("创新券补贴是多少？", "money"), ("每月补贴多少钱？", "monthly"),
    ("研发费用加计扣除的比例是多少？", "percentage"), ("孵化器要打造多少个？", "count"), ("How many incubators?", "count"),
    ("这个中心哪年建成？", "year"), ("科技活动周哪天举办？", "date"), ("什么时候截止申报？", "deadline"),
    ("创新券的有效期是多久？", "duration"), ("科技局办公地点在哪？", "place"), ("咨询电话是多少？", "contact"),
    ("怎么申请创新券？", "procedure"),
])
def test_questions_ask_for_a_type(question, kind):
    assert kind in asked_types(question)


@pytest.mark.parametrize("question", ["基本原则有哪几条？", "两山两区指的是哪几个？", "长沙有哪些特色园区？",
                                      "长沙对高新技术企业有哪些培育措施？"])
def test_enumeration_questions_ask_for_no_value(question):
    assert asked_types(question) == []


@pytest.mark.parametrize("kind, text, expected", [
    ("money", "每家企业奖励20万元", True), ("money", "加大研发投入", False),
    ("percentage", "研发(R&D)经费投入占地区生产总值的比重(%)：2025年目标 3.2", True), ("percentage", "达到先进水平", False),
    ("count", "打造50个省级以上孵化器", True), ("count", "高新技术企业数(家)：2025年目标 6000", True),
    ("count", "培育一批创新型企业", False), ("year", "到2025年建成", True), ("year", "加快建成", False),
    ("place", "办公地点：岳麓区某某路12号", True), ("place", "建设科技园区", False),
    ("duration", "自发放之日起十二个月内有效", True), ("duration", "本规划自公布之日起施行", False),
])
def test_values_of_a_type(kind, text, expected):
    assert holds(kind, text) is expected
    assert set(ANSWER_TYPES) >= {"money", "percentage", "count", "year", "date", "deadline", "place", "contact",
                                 "procedure", "monthly", "duration"}


# The answer types are features of the learned evidence stage (type_asked, type_held, typed_about), no longer
# a rule: the model weighs them. These four kinds of value the plan never states anywhere (an address, a monthly
# amount, a phone number, a procedure) are refused, and the refusal names the kind. A percentage or a year the
# plan does not give for one subject but gives for others is the model's call, measured on the sealed set
# (the README's evaluation section), not asserted here.
@pytest.mark.parametrize("question, reason", [
    ("长沙市科技局的办公地址在哪里？", "place"),
    ("科技型中小企业入库每月补贴多少钱？", "monthly"),
    ("市科技局的咨询电话是多少？", "contact"),
    ("怎么申请高新技术企业认定的奖补？", "procedure"),
])
def test_a_value_the_plan_does_not_state_is_refused(assistant, question, reason):
    ans = assistant.ask(question)
    assert ans.answerable is False and ans.citations == [], ans.answer
    assert ans.notices[0].startswith("refused:") and reason in ans.notices[0], ans.notices
    assert ans.related, "the nearest passages are shown"


@pytest.mark.parametrize("question, value", [
    ("到2025年高新技术企业数量目标是多少家？", "6000"),
    ("研发投入强度2025年的目标是多少？", "3.2"),
    ("大科城科技成果就地转化率的目标是多少？", "20%"),
    ("要打造多少个省级以上孵化器、众创空间、大学科技园？", "50个"),
])
def test_a_value_the_plan_states_about_the_subject_is_answered(assistant, question, value):
    ans = assistant.ask(question)
    assert ans.answerable and value in ans.answer, (ans.answer, ans.notices)
    assert any(value.rstrip("个%") in c.text for c in ans.citations)
