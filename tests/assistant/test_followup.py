"""Unit tests of the rule-based follow-up rewriter with the real bundled glossary."""
from __future__ import annotations

import pytest

from assistant.pipeline.followup import rewrite, standalone
from retrieval.retrievers.glossary import default_glossary


@pytest.fixture(scope="module")
def glossary():
    return default_glossary()


def user(text: str) -> dict:
    return {"role": "user", "content": text}


def bot(text: str) -> dict:
    return {"role": "assistant", "content": text}


def test_entity_slot_substitution(glossary):
    out = standalone("科小呢？", [user("2025年高企数量目标是多少？"), bot("……6000……")], glossary)
    assert out == "2025年科小数量目标是多少？"
    assert "高企" not in out


def test_entity_slot_substitution_canonical_form(glossary):
    out = rewrite("新型研发机构呢？", "2025年高企数量目标是多少？", glossary)
    assert out == "2025年新型研发机构数量目标是多少？"


def test_year_substitution(glossary):
    out = rewrite("那2020年呢？", "2025年科技型中小企业数量目标是多少？", glossary)
    assert out == "2020年科技型中小企业数量目标是多少？"
    assert "2025" not in out


def test_park_slot_substitution(glossary):
    out = rewrite("马栏山呢？", "岳麓山大学科技城重点发展什么产业？", glossary)
    assert "马栏山" in out and "岳麓山大学科技城" not in out
    assert "重点发展什么产业" in out


def test_pronoun_carries_previous_subject(glossary):
    history = [user("隆平高科技园的定位是什么？"), bot("……")]
    out = standalone("这个园区重点发展什么产业？", history, glossary)
    assert "隆平高科技园" in out
    assert "重点发展什么产业" in out


def test_english_followup(glossary):
    out = rewrite("What about tech SMEs?", "What is the 2025 target for high-tech enterprises?", glossary)
    assert "tech SMEs" in out and "2025" in out and "high-tech enterprises" not in out


@pytest.mark.parametrize(
    "question",
    [
        "长沙市研发投入强度2025年的目标是多少？",
        "隆平高科技园重点发展什么产业？",
        "高新技术企业培育库怎么建设？",
    ],
    ids=["rd-intensity", "longping-park", "hte-database"],
)
def test_full_question_is_unchanged(glossary, question):
    history = [user("2025年高企数量目标是多少？"), bot("……6000……")]
    assert standalone(question, history, glossary) == question


@pytest.mark.parametrize(
    "question",
    [
        "规划中应该如何培育高新技术企业？",  # 该 inside 应该 is not a pronoun
        "其他园区的高新技术企业发展目标是什么？",  # 其 inside 其他 is not a pronoun
    ],
    ids=["yinggai", "qita"],
)
def test_full_question_with_pronoun_like_characters_is_unchanged(glossary, question):
    history = [user("2025年科小数量目标是多少？"), bot("……5000……")]
    assert standalone(question, history, glossary) == question


@pytest.mark.parametrize("history", [None, [], [bot("你好")], [user("   "), bot("")]],
                         ids=["none", "empty", "assistant-only", "blank-user-turn"])
def test_no_usable_history_returns_question(glossary, history):
    assert standalone("科小呢？", history, glossary) == "科小呢？"
    assert standalone("  2025年高企数量目标是多少？ ", history, glossary) == "2025年高企数量目标是多少？"


def test_rewrite_without_previous_returns_question(glossary):
    assert rewrite("那2020年呢？", None, glossary) == "那2020年呢？"


def test_chain_of_followups_resolves_in_order(glossary):
    history = [
        user("2025年高企数量目标是多少？"), bot("……6000……"),
        user("科小呢？"), bot("……5000……"),
    ]
    assert standalone("那2020年呢？", history, glossary) == "2020年科小数量目标是多少？"
    # and the order matters: the year change applies to the already-rewritten 科小 question
    history += [user("那2020年呢？"), bot("……2621……")]
    assert standalone("高企呢？", history, glossary) == "2020年高企数量目标是多少？"


def test_chain_mixing_pronoun_and_substitution(glossary):
    history = [
        user("大科城重点发展什么产业？"), bot("……"),
        user("这个园区的目标是什么？"), bot("……"),
    ]
    out = standalone("马栏山呢？", history, glossary)
    assert "马栏山" in out and "大科城" not in out


@pytest.mark.parametrize("question", ["长沙市的房价是多少？", "深圳的人才政策有哪些？", "哪天印发？"])
def test_short_question_with_its_own_subject_stands_alone(glossary, question):
    history = [user("到2025年高新技术企业数量目标是多少？"), bot("……6000[1]")]
    assert standalone(question, history, glossary) == question


@pytest.mark.parametrize("question", ["那2020年有多少家？", "2020年多少？", "科小？"])
def test_elliptical_question_carries_the_previous_subject(glossary, question):
    history = [user("到2025年科技型中小企业数量目标是多少？"), bot("……5000[1]")]
    out = standalone(question, history, glossary)
    assert out != question and ("科技型中小企业" in out or "科小" in out)
