"""Multi-part questions: split, each part answered on its own, labelled, citations renumbered."""
from __future__ import annotations

import re

import pytest

from assistant.pipeline.multipart import split_question


@pytest.mark.parametrize("question, parts", [
    ("宁乡经开区和宁乡高新区分别重点发展什么？", ["宁乡经开区重点发展什么？", "宁乡高新区重点发展什么？"]),
    ("高企和科小2025年的目标分别是多少家？", ["高企2025年的目标是多少家？", "科小2025年的目标是多少家？"]),
    ("研发投入强度2025年目标是多少？企业研发投入有什么奖补政策安排？",
     ["研发投入强度2025年目标是多少？", "企业研发投入有什么奖补政策安排？"]),
    ("超算长沙中心在规划里有哪些安排？哪个园区要联合它？",
     ["超算长沙中心在规划里有哪些安排？", "哪个园区要联合超算长沙中心？"]),
    ("马栏山既要打造成什么品牌，人才上又支持哪个学院？", ["马栏山要打造成什么品牌", "马栏山人才上支持哪个学院？"]),
    ("长沙对高新技术企业有哪些培育措施？", ["长沙对高新技术企业有哪些培育措施？"]),
    ("高企和科小有什么区别？", ["高企和科小有什么区别？"]),
])
def test_split(assistant, question, parts):
    assert split_question(question, assistant.glossary) == parts


def test_each_part_is_answered_and_labelled(assistant):
    ans = assistant.ask("高企和科小2025年的目标分别是多少家？")
    assert ans.answerable
    blocks = ans.answer.split("\n")
    assert blocks[0].startswith("（1）高企") and "6000" in blocks[0]
    assert blocks[1].startswith("（2）科小") and "5000" in blocks[1]
    marks = sorted({int(n) for n in re.findall(r"\[(\d+)\]", ans.answer)})
    assert marks == [c.n for c in ans.citations] == list(range(1, len(ans.citations) + 1))
    assert any("6000" in c.text for c in ans.citations) and any("5000" in c.text for c in ans.citations)


def test_a_follow_up_is_one_question(assistant):
    first = assistant.ask("长沙十四五科技创新规划是哪天印发的？")
    ans = assistant.ask("那是哪个单位发的文？", [{"role": "user", "content": "长沙十四五科技创新规划是哪天印发的？"},
                                             {"role": "assistant", "content": first.answer}])
    assert "（1）" not in ans.answer and "长沙市人民政府办公厅" in ans.answer


def test_the_stream_replays_the_combined_answer(assistant):
    events = list(assistant.ask_stream("宁乡经开区和宁乡高新区分别重点发展什么？"))
    final = events[-1].answer
    assert final.answer.startswith("（1）宁乡经开区") and "（2）宁乡高新区" in final.answer
    assert "".join(e.text for e in events if e.type == "delta") == final.answer
