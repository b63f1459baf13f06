"""Chat routing: a question that describes the asker and asks what support applies goes to the finder.

“我们是浏阳经开区的生物医药科技型中小企业，能享受哪些支持？” is answered as a short grouped list of
measures with citations, instead of the nearest paragraph to a vague question.
"""
from __future__ import annotations

import re
from typing import Any

from assistant.answer import Answer, Citation
from assistant.finder.profile import Profile, profile_from_text
from assistant.finder.vocab import Vocabulary
from retrieval.passage import Passage

CHAT_MEASURES = 10
_ASKS_SUPPORT = re.compile(
    r"(?:能|可以|可|能够|是否|可否)(?:享受|申请|申报|获得|得到|拿到|对接)|"
    r"(?:哪些|什么|有无|有没有|何种)(?:样的)?.{0,6}?(?:支持|政策|扶持|补贴|补助|奖励|奖补|措施|优惠|待遇|帮助|服务)|"
    r"符合.{0,8}(?:条件|政策)|适用.{0,6}(?:政策|措施)|适用于(?:我|我们|本)|政策匹配|匹配.{0,4}政策|"
    r"qualify|eligible|what support|which support",
    re.IGNORECASE)
_SELF = re.compile(r"我们|我司|本公司|我公司|我单位|本单位|我是|本人|我们单位|我们机构|we are|i am|i'm|our ", re.IGNORECASE)
STATUS_LABEL = {"likely": "可能适用", "check": "需核实", "unlikely": "可能不适用"}


def support_profile(question: str, vocab: Vocabulary) -> Profile | None:
    """The asker's profile when the question describes the asker and asks which support applies."""
    if not _ASKS_SUPPORT.search(question) or not _SELF.search(question):
        return None
    return profile_from_text(question, vocab)


def answer_from_match(question: str, result: dict[str, Any], passages: dict[str, Passage]) -> Answer:
    measures = result["measures"][:CHAT_MEASURES]
    recognised = result["profile"]["recognised"]
    facts = "；".join(x for x in ("、".join(recognised["targets"]), "、".join(recognised["industries"]),
                                  "、".join(recognised["places"])) if x)
    if not measures:
        return Answer(question=question, answerable=False, mode="finder", answer=(
            "文件中没有找到与您描述的情况对应的支持措施。可在“政策匹配”页补充资质、行业、园区等信息后再试。"),
            notices=["政策匹配未找到对应措施"])
    numbers: dict[str, int] = {}
    citations: list[Citation] = []
    for m in measures:
        pid = m["citation"]["passage_id"]
        if pid not in numbers and pid in passages:
            numbers[pid] = len(numbers) + 1
            citations.append(Citation.of(numbers[pid], passages[pid], quote=m["citation"]["quote"]))
    lines = [f"根据您描述的情况（{facts or '未识别出具体资质'}），文件中可能与您相关的支持措施有："]
    for kind in dict.fromkeys(m["kind"] for m in measures):
        lines.append(f"\n**{kind}**")
        for m in (x for x in measures if x["kind"] == kind):
            n = numbers.get(m["citation"]["passage_id"])
            todo = [c["condition"] for c in m["conditions"] if c["status"] != "met"]
            tail = f"；需核实：{'，'.join(todo[:2])}" if todo else ""
            lines.append(f"- {m['title']}（{STATUS_LABEL[m['status']]}{tail}）" + (f"[{n}]" if n else ""))
    lines.append("\n以上按原文整理，不构成资格认定；具体条件和金额以实施细则、申报指南为准。"
                 "在“政策匹配”页填写完整信息可看到每条措施的条件核对。")
    return Answer(question=question, answer="\n".join(lines), answerable=True, mode="finder",
                  citations=citations, notices=["由政策匹配（支持措施查找）生成"])
