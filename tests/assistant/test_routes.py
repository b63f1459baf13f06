"""Step 2 of ask: the routes, built once, each saying why it took a question; one plan for ask and ask_stream;
a multi-part question split only when its parts name subjects of their own."""
from __future__ import annotations

from assistant.pipeline.multipart import distinct_subjects
from assistant.pipeline.routes import DocumentRoute, ListRoute, SupportRoute


def test_the_routes_are_built_once_in_order(assistant):
    assert [type(r) for r in assistant.routes] == [SupportRoute, DocumentRoute, ListRoute]
    assert assistant.routes is assistant.routes  # an attribute, not rebuilt per question


def test_each_route_says_why_it_took_the_question(assistant):
    cases = {
        "我们是生物医药领域的高新技术企业，能享受哪些支持？": "support finder",
        "这个规划的发文字号是多少？": "document metadata",
        "十四五科技规划的基本原则有哪几条？": "structure-aware list",
    }
    for question, route in cases.items():
        plan = assistant.plan(question)
        [step] = plan.steps
        assert step.route and step.route.startswith(route), (question, step.route)
        assert step.answer is not None and step.evidence is None
        answer = assistant.ask(question)  # the same route, finished like every answer
        assert answer.answer == step.answer.answer and answer.standalone_question


def test_a_clause_question_is_weighed_and_filters_skip_the_routes(assistant):
    [step] = assistant.plan("到2025年高新技术企业数量目标是多少？").steps
    assert step.route is None and step.evidence is not None and step.evidence.ranked
    [step] = assistant.plan("这个规划的发文字号是多少？", filters={"kind": "paragraph"}).steps
    assert step.route is None


def test_ask_and_ask_stream_share_the_plan(assistant):
    for question in ("到2025年高新技术企业数量目标是多少？", "宁乡经开区和宁乡高新区分别重点发展什么？",
                     "这个规划的发文字号是多少？"):
        events = list(assistant.ask_stream(question))
        assert events[-1].type == "answer"
        streamed, asked = events[-1].answer, assistant.ask(question)
        assert (streamed.answer, [c.passage_id for c in streamed.citations]) == \
               (asked.answer, [c.passage_id for c in asked.citations])


def test_parts_are_kept_only_with_subjects_of_their_own(assistant):
    two = assistant.plan("宁乡经开区和宁乡高新区分别重点发展什么？")
    assert len(two.steps) == 2 and two.parts == ["宁乡经开区重点发展什么？", "宁乡高新区重点发展什么？"]
    terms = [assistant.understand(q).terms for q in ("高新技术企业的数量目标是多少？", "高新技术企业的数量目标？")]
    assert distinct_subjects(terms, assistant.stats) is False  # the second names nothing the first does not
    terms = [assistant.understand(q).terms for q in ("宁乡经开区重点发展什么？", "宁乡高新区重点发展什么？")]
    assert distinct_subjects(terms, assistant.stats) is True
