"""Multi-part questions: split, each part answered on its own, the answer says which part each quote answers.

    "宁乡经开区和宁乡高新区分别重点发展什么？"   -> 宁乡经开区重点发展什么？ | 宁乡高新区重点发展什么？
    "研发投入强度目标是多少？企业研发投入有什么奖补？" -> two questions
    "超算长沙中心有哪些安排？哪个园区要联合它？"    -> the second resolved like a follow-up (它 -> 超算长沙中心)
    "马栏山既要打造成什么品牌，人才上又支持哪个学院？" -> 马栏山要打造成什么品牌 | 马栏山人才上支持哪个学院
A split is kept only when each part names a subject of its own (`distinct_subjects`, checked by the
Assistant on the understood parts); two clauses about one subject are answered as one question.
"""
from __future__ import annotations

import re
from dataclasses import replace

from assistant.answer import Answer, Citation
from assistant.pipeline.followup import rewrite
from assistant.language.terms import QueryTerms, specific_terms
from assistant.language.stats import TermStats
from retrieval.retrievers.glossary import Glossary

MAX_PARTS = 3
_EACH = re.compile(r"分别|各自|各是|各有")
_AND = re.compile(r"[和与及跟、]|以及")
_QUESTION_END = re.compile(r"(?<=[？?])\s*")
_BOTH = re.compile(r"^(?P<subject>.{2,20}?)既(?P<a>.+?)[，,；;]\s*(?P<b>.*?又.+)$")
_PRONOUN = re.compile(r"它们|它|其|该|这个|那个|此")
_SUBJECT = re.compile(r"^(.{2,14}?)(?:在|的|有|要|是|将|如何|怎么|需要|可以|能|会)")
_ASKS = re.compile(r"什么|哪|多少|几|吗|如何|怎么|是否|\?|？|what|which|how|who|when|where", re.I)


def _each(question: str, glossary: Glossary) -> list[str]:
    """A和B分别…: one question per conjunct, the shared rest kept."""
    m = _EACH.search(question)
    if not m:
        return []
    head, tail = question[:m.start()], question[m.end():]
    conj = list(_AND.finditer(head))
    if not conj:
        return []
    c = conj[-1]
    a, b = head[:c.start()].strip(), head[c.end():].strip()
    if len(a) < 2 or len(b) < 2:
        return []
    # B may carry words both parts share (高企和科小2025年的目标分别…): take the named term off B
    found = [t for t in glossary.find(b) if t[1] == 0]
    shared = b[found[0][2]:] if found else ""
    return [f"{a}{shared}{tail}", f"{b}{tail}"]


def split_question(question: str, glossary: Glossary) -> list[str]:
    """The parts of a question that asks several things (a single question comes back as [question])."""
    q = question.strip()
    parts = [p for p in _QUESTION_END.split(q) if p.strip()]
    if len(parts) >= 2 and all(_ASKS.search(p) for p in parts):
        subject = _SUBJECT.match(parts[0])
        resolved = [parts[0]]
        for p in parts[1:MAX_PARTS]:
            if subject and _PRONOUN.search(p):  # 哪个园区要联合它 -> …联合超算长沙中心
                resolved.append(_PRONOUN.sub(subject.group(1), p, count=1))
            else:
                resolved.append(rewrite(p, resolved[0], glossary))
        return resolved
    m = _BOTH.match(q)
    if m:
        subject = m.group("subject")
        return [f"{subject}{m.group('a')}", f"{subject}{m.group('b').replace('又', '', 1)}"]
    return _each(q, glossary) or [q]


def distinct_subjects(parts: list[QueryTerms], stats: TermStats) -> bool:
    """Each part names a subject of its own: a specific term (not corpus-wide) that no other part names.
    Two clauses about one subject ("A的目标是多少？A有哪些举措？" without a term of their own) stay one question."""
    specific = [specific_terms(t, stats) for t in parts]
    for i, own in enumerate(specific):
        others = set().union(*(s for j, s in enumerate(specific) if j != i))
        if not own - others:
            return False
    return True


def combine(question: str, parts: list[str], answers: list[Answer]) -> Answer:
    """One answer: each part's answer under its own label, citations renumbered in order of use."""
    citations: list[Citation] = []
    related: list[Citation] = []
    notices: list[str] = []
    blocks = []
    for i, (part, ans) in enumerate(zip(parts, answers), start=1):
        renumber = {}
        for c in ans.citations:
            existing = next((x for x in citations if x.passage_id == c.passage_id), None)
            if existing is None:
                existing = replace(c, n=len(citations) + 1, meta=dict(c.meta))  # view_url and all kept
                citations.append(existing)
            renumber[c.n] = existing.n
        text = re.sub(r"\[(\d+)\]", lambda mm: f"[{renumber.get(int(mm.group(1)), mm.group(1))}]", ans.answer)
        blocks.append(f"（{i}）{part.rstrip('？?')}：{text}")
        related += [r for r in ans.related if r.passage_id not in {c.passage_id for c in citations + related}]
        notices += [f"（{i}）{n}" for n in ans.notices]
    return Answer(question=question, answer="\n".join(blocks), answerable=any(a.answerable for a in answers),
                  mode=answers[0].mode, citations=citations, related=related, notices=notices)
