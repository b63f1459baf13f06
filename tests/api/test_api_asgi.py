"""The HTTP API in-process (FastAPI TestClient / httpx.ASGITransport) on the session's real index.

No server process: every request goes through the real middleware stack (metrics, body limit, error
handlers) and the real `Assistant`.
"""
from __future__ import annotations

import asyncio
import json
import re

import httpx
import pytest
from fastapi.testclient import TestClient
from helpers import parse_sse

from api.app import create_app

PLAN_ID = "changsha-sti-plan-2021-2025"
HTE_Q = "到2025年高新技术企业数量目标是多少？"
CULTIVATE_Q = "长沙对高新技术企业有哪些培育措施？"
REFUSED_Q = "上海市浦东新区的人才公寓补贴是多少？"
HOUSE_PRICE_Q = "长沙市的房价是多少？"
FOLLOWUP_Q = "那2020年呢？"
PASSAGE_ID = re.compile(r"^[a-z0-9-]+:[0-9a-f]{12}$")
CITATION_KEYS = {"n", "passage_id", "doc_id", "doc_title", "section", "text", "quote", "meta", "view_url"}
ANSWER_KEYS = {"question", "answer", "answerable", "mode", "citations", "related", "notices", "standalone_question",
               "source"}
INTERNAL_ERROR = "internal error; it has been logged"


# ---------------------------------------------------------------------------- helpers / fixtures


def _loc(resp: httpx.Response) -> list:
    assert resp.status_code == 422, resp.text
    detail = resp.json()["detail"]
    assert isinstance(detail, list) and detail, detail
    return detail[0]["loc"]


@pytest.fixture(scope="module")
def app(built_settings, assistant):
    return create_app(built_settings, assistant=assistant, ui=False)


@pytest.fixture(scope="module")
def client(app):
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


@pytest.fixture(scope="module")
def hte_answer(client) -> dict:
    resp = client.post("/v1/ask", json={"question": HTE_Q})
    assert resp.status_code == 200, resp.text
    return resp.json()


# ---------------------------------------------------------------------------- /v1/ask
def test_ask_answers_with_cited_figure(hte_answer):
    body = hte_answer
    assert set(body) == ANSWER_KEYS
    assert body["question"] == HTE_Q
    assert body["answerable"] is True
    assert body["mode"] == "extractive"
    assert "6000" in body["answer"]
    assert "[1]" in body["answer"]
    assert body["notices"] == []
    cits = body["citations"]
    assert cits and [c["n"] for c in cits] == list(range(1, len(cits) + 1))
    first = cits[0]
    assert set(first) == CITATION_KEYS
    assert "发展目标" in first["section"]
    assert first["doc_id"] == PLAN_ID
    assert PASSAGE_ID.match(first["passage_id"]), first["passage_id"]
    assert "6000" in first["text"]
    assert first["quote"] and first["quote"] in first["text"]
    assert first["meta"].get("doc_number") == "长政办发〔2021〕30号"
    # related reading never repeats a cited passage
    assert not {c["passage_id"] for c in cits} & {r["passage_id"] for r in body["related"]}
    assert all(r["n"] == 0 for r in body["related"])


def test_ask_cultivation_measures_cites_the_cultivation_section(client):
    resp = client.post("/v1/ask", json={"question": CULTIVATE_Q})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["answerable"] is True, body["notices"]
    assert body["citations"]
    assert any("高新技术企业培育" in c["section"] for c in body["citations"]), [c["section"] for c in body["citations"]]


def test_ask_refuses_question_outside_the_corpus(client):
    resp = client.post("/v1/ask", json={"question": REFUSED_Q})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["answerable"] is False
    assert body["citations"] == []
    assert body["notices"] and body["notices"][0].startswith("refused:")
    assert "[1]" not in body["answer"]
    assert "6000" not in body["answer"]


def test_ask_refuses_house_prices(client):
    body = client.post("/v1/ask", json={"question": HOUSE_PRICE_Q}).json()
    assert body["answerable"] is False, body["answer"]
    assert body["citations"] == []


def test_ask_followup_uses_history(client, hte_answer):
    history = [{"role": "user", "content": HTE_Q}, {"role": "assistant", "content": hte_answer["answer"]}]
    resp = client.post("/v1/ask", json={"question": FOLLOWUP_Q, "history": history})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["question"] == FOLLOWUP_Q
    assert body["answerable"] is True, body["notices"]
    assert "4142" in body["answer"]
    assert "2020" in body["standalone_question"] and body["standalone_question"] != FOLLOWUP_Q
    assert any("4142" in c["text"] for c in body["citations"])


def test_ask_top_k_and_filters_are_applied(client, assistant):
    resp = client.post("/v1/ask", json={"question": HTE_Q, "top_k": 2, "filters": {"kind": "table_row"}})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    shown = body["citations"] + body["related"]
    assert 1 <= len(shown) <= 2
    assert all(assistant.passage(c["passage_id"]).kind == "table_row" for c in shown)


@pytest.mark.parametrize("payload, loc", [
    ({"question": ""}, ["body", "question"]),
    ({"question": "   \n\t "}, ["body", "question"]),
    ({"question": "问" * 501}, ["body", "question"]),
    ({"question": HTE_Q, "top_k": 0}, ["body", "top_k"]),
    ({"question": HTE_Q, "top_k": 51}, ["body", "top_k"]),
    ({"question": HTE_Q, "filters": {"colour": "red"}}, ["body", "filters"]),
    ({"question": HTE_Q, "temperature": 0.2}, ["body", "temperature"]),
    ({"question": HTE_Q, "history": [{"role": "robot", "content": "hi"}]}, ["body", "history", 0, "role"]),
    ({}, ["body", "question"]),
], ids=["empty", "whitespace", "too-long", "top_k-0", "top_k-51", "unknown-filter", "extra-field",
        "bad-history-role", "missing"])
def test_ask_rejects_invalid_fields_naming_them(client, payload, loc):
    resp = client.post("/v1/ask", json=payload)
    assert _loc(resp) == loc
    assert resp.json()["detail"][0]["msg"]


def test_ask_question_length_limit_is_inclusive(client, built_settings):
    limit = built_settings.max_question_chars
    q = ("高新技术企业" * limit)[:limit]
    assert client.post("/v1/ask", json={"question": q}).status_code == 200
    resp = client.post("/v1/ask", json={"question": q + "业"})
    assert _loc(resp) == ["body", "question"]
    assert str(limit) in resp.json()["detail"][0]["msg"]


def test_ask_rejects_malformed_json(client):
    resp = client.post("/v1/ask", content=b'{"question": ', headers={"content-type": "application/json"})
    assert resp.status_code == 422
    assert resp.json()["detail"][0]["loc"][0] == "body"


# ---------------------------------------------------------------------------- body limit
def test_body_over_limit_is_413(client, built_settings):
    big = {"question": HTE_Q, "history": [{"role": "user", "content": "长" * 15000}] * 2}
    data = json.dumps(big, ensure_ascii=False).encode()
    assert len(data) > built_settings.max_body_bytes
    resp = client.post("/v1/ask", content=data, headers={"content-type": "application/json"})
    assert resp.status_code == 413
    assert "PA_MAX_BODY_BYTES" in resp.json()["detail"]
    assert str(built_settings.max_body_bytes) in resp.json()["detail"]


def test_body_limit_applies_to_every_v1_route(client, built_settings):
    data = b'{"query": "' + b"a" * (built_settings.max_body_bytes + 10) + b'"}'
    for path in ("/v1/search", "/v1/chat/completions", "/v1/ask/stream"):
        resp = client.post(path, content=data, headers={"content-type": "application/json"})
        assert resp.status_code == 413, (path, resp.status_code)


def test_chunked_body_under_limit_is_accepted(client):
    data = json.dumps({"question": HTE_Q}, ensure_ascii=False).encode()

    def chunks():
        for i in range(0, len(data), 7):
            yield data[i:i + 7]

    resp = client.post("/v1/ask", content=chunks(), headers={"content-type": "application/json"})
    assert resp.status_code == 200, resp.text
    assert "6000" in resp.json()["answer"]


def test_chunked_body_over_limit_is_413(client, built_settings):
    def chunks():
        yield b'{"question": "'
        for _ in range(built_settings.max_body_bytes // 8192 + 2):
            yield b"x" * 8192
        yield b'"}'

    resp = client.post("/v1/ask", content=chunks(), headers={"content-type": "application/json"})
    assert resp.status_code == 413, (resp.status_code, resp.text)


# ---------------------------------------------------------------------------- /v1/ask/stream
def test_stream_events_in_order_and_deltas_rebuild_answer(client, hte_answer):
    with client.stream("POST", "/v1/ask/stream", json={"question": HTE_Q}) as resp:
        assert resp.status_code == 200
        assert resp.headers["content-type"].startswith("text/event-stream")
        assert resp.headers.get("cache-control") == "no-cache"
        text = resp.read().decode()
    events = parse_sse(text)
    names = [n for n, _ in events]
    assert names[0] == "citations"
    assert names[-1] == "answer"
    assert set(names[1:-1]) == {"delta"} and len(names) >= 3
    citations = json.loads(events[0][1])["citations"]
    final = json.loads(events[-1][1])
    assert set(final) == ANSWER_KEYS
    deltas = "".join(json.loads(d)["text"] for n, d in events if n == "delta")
    assert deltas == final["answer"]
    assert "6000" in final["answer"]
    assert citations == final["citations"]
    # the stream gives the same answer as /v1/ask
    assert final["answer"] == hte_answer["answer"]
    assert [c["passage_id"] for c in citations] == [c["passage_id"] for c in hte_answer["citations"]]


def test_stream_refusal(client):
    resp = client.post("/v1/ask/stream", json={"question": REFUSED_Q})
    events = parse_sse(resp.text)
    assert json.loads(events[0][1]) == {"citations": []}
    final = json.loads(events[-1][1])
    assert final["answerable"] is False
    assert "".join(json.loads(d)["text"] for n, d in events if n == "delta") == final["answer"]


@pytest.mark.parametrize("payload, loc", [
    ({"question": " "}, ["body", "question"]),
    ({"question": HTE_Q, "filters": {"nope": "x"}}, ["body", "filters"]),
    ({"question": HTE_Q, "top_k": 99}, ["body", "top_k"]),
])
def test_stream_validates_before_streaming(client, payload, loc):
    resp = client.post("/v1/ask/stream", json=payload)
    assert resp.headers["content-type"].startswith("application/json")
    assert _loc(resp) == loc


def test_stream_failure_midway_is_reported_in_band_without_details(client, assistant, monkeypatch):
    from assistant.answer import StreamEvent

    def broken(*args, **kwargs):
        def events():
            yield StreamEvent("citations", citations=[])
            yield StreamEvent("delta", text="根据")
            raise RuntimeError("secret trace /etc/passwd")
        return events()

    monkeypatch.setattr(assistant, "ask_stream", broken)
    resp = client.post("/v1/ask/stream", json={"question": HTE_Q})
    assert resp.status_code == 200
    events = parse_sse(resp.text)
    assert [n for n, _ in events] == ["citations", "delta", "error"]
    assert "RuntimeError" in json.loads(events[-1][1])["detail"]
    assert "secret" not in resp.text and "Traceback" not in resp.text


# ---------------------------------------------------------------------------- /v1/search
def test_search_returns_ranked_hits(client, assistant):
    resp = client.post("/v1/search", json={"query": "高企培育", "top_k": 3})
    assert resp.status_code == 200, resp.text
    hits = resp.json()["hits"]
    assert len(hits) == 3
    assert set(hits[0]) == {"passage_id", "doc_id", "doc_title", "section", "text", "score", "sources"}
    scores = [h["score"] for h in hits]
    assert scores == sorted(scores, reverse=True)
    assert all(set(h["sources"]) & {"bm25", "dense"} and set(h["sources"]) <= {"bm25", "dense", "fused"} for h in hits)
    assert any("高新技术企业培育" in h["section"] for h in hits), [h["section"] for h in hits]
    for h in hits:  # every hit is a real passage, with the same text and section
        p = assistant.passage(h["passage_id"])
        assert p is not None and p.text == h["text"] and p.section_path == h["section"]


def test_search_default_top_k_and_filter(client, assistant):
    hits = client.post("/v1/search", json={"query": "高新技术企业"}).json()["hits"]
    assert len(hits) == 5
    hits = client.post("/v1/search", json={"query": "高新技术企业", "filters": {"kind": ["table_row"]}}).json()["hits"]
    assert hits and all(assistant.passage(h["passage_id"]).kind == "table_row" for h in hits)


@pytest.mark.parametrize("payload, loc", [
    ({"query": ""}, ["body", "query"]),
    ({"query": "  "}, ["body", "query"]),
    ({"query": "x" * 501}, ["body", "query"]),
    ({"query": "高企", "top_k": 0}, ["body", "top_k"]),
    ({"query": "高企", "filters": {"bogus": "1"}}, ["body", "filters"]),
    ({"query": "高企", "question": "x"}, ["body", "question"]),
])
def test_search_rejects_invalid_fields(client, payload, loc):
    assert _loc(client.post("/v1/search", json=payload)) == loc


# ---------------------------------------------------------------------------- browsing
def test_passage_in_context_from_a_citation(client, hte_answer, assistant):
    pid = hte_answer["citations"][0]["passage_id"]
    resp = client.get(f"/v1/passages/{pid}", params={"context": 2})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    p = body["passage"]
    assert p["passage_id"] == pid
    assert p["text"] == hte_answer["citations"][0]["text"]
    assert p["section"] == " > ".join(p["section_levels"])
    assert p["doc_id"] == PLAN_ID and p["meta"]["doc_number"] == "长政办发〔2021〕30号"
    order = p["order"]
    assert [x["order"] for x in body["previous"]] == [o for o in (order - 2, order - 1) if o >= 0]
    assert len(body["next"]) == 2
    assert [x["order"] for x in body["next"]] == [order + 1, order + 2]
    assert all(x["doc_id"] == p["doc_id"] for x in body["previous"] + body["next"])
    # neighbours are the real adjacent passages
    i = [q.id for q in assistant.passages].index(pid)
    assert [x["passage_id"] for x in body["next"]] == [q.id for q in assistant.passages[i + 1:i + 3]]


def test_passage_context_size_and_document_start(client, assistant):
    first = assistant.passages[0]
    body = client.get(f"/v1/passages/{first.id}", params={"context": 3}).json()
    assert body["passage"]["order"] == first.order
    assert body["previous"] == []
    assert [x["order"] for x in body["next"]] == [first.order + 1, first.order + 2, first.order + 3]
    body = client.get(f"/v1/passages/{assistant.passages[10].id}", params={"context": 0}).json()
    assert body["previous"] == [] and body["next"] == []
    body = client.get(f"/v1/passages/{assistant.passages[10].id}").json()  # default context 2
    assert len(body["previous"]) == 2 and len(body["next"]) == 2


def test_passage_unknown_id_is_404_naming_it(client):
    bad = f"{PLAN_ID}:000000000000"
    resp = client.get(f"/v1/passages/{bad}")
    assert resp.status_code == 404
    assert bad in resp.json()["detail"]


def test_passage_context_out_of_range_is_422(client, assistant):
    resp = client.get(f"/v1/passages/{assistant.passages[0].id}", params={"context": 11})
    assert resp.status_code == 422
    assert resp.json()["detail"][0]["loc"] == ["query", "context"]


def test_documents_list_counts_every_passage(client, assistant):
    resp = client.get("/v1/documents")
    assert resp.status_code == 200
    docs = resp.json()["documents"]
    assert len(docs) == assistant.info.documents
    assert sum(d["passages"] for d in docs) == assistant.info.passages
    assert sum(d["passages"] for d in docs) == client.get("/readyz").json()["passages"]
    plan = next(d for d in docs if d["doc_id"] == PLAN_ID)
    assert plan["doc_number"] == "长政办发〔2021〕30号"
    assert plan["issuer"] and plan["issued"]
    assert plan["title"].startswith("长沙市")


# ---------------------------------------------------------------------------- OpenAI-compatible
def test_chat_completion_non_streaming(client, hte_answer):
    resp = client.post("/v1/chat/completions", json={
        "model": "anything", "temperature": 0.1,
        "messages": [{"role": "system", "content": "你是助手"}, {"role": "user", "content": HTE_Q}]})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["object"] == "chat.completion"
    assert body["id"].startswith("chatcmpl-")
    assert body["model"] == "policy-assistant"
    choice = body["choices"][0]
    assert choice["finish_reason"] == "stop" and choice["message"]["role"] == "assistant"
    content = choice["message"]["content"]
    first = body["citations"][0]
    assert content.startswith(hte_answer["answer"])
    assert f"\n\n参考来源：\n[1] {first['doc_title']} · {first['section']}" in content
    assert body["answerable"] is True and body["mode"] == "extractive" and body["notices"] == []
    assert "发展目标" in first["section"] and set(first) == CITATION_KEYS
    assert body["usage"]["total_tokens"] == body["usage"]["prompt_tokens"] + body["usage"]["completion_tokens"]


def test_chat_completion_content_parts_and_refusal(client):
    resp = client.post("/v1/chat/completions", json={
        "messages": [{"role": "user", "content": [{"type": "text", "text": REFUSED_Q}]}]})
    body = resp.json()
    assert resp.status_code == 200
    assert body["answerable"] is False and body["citations"] == []
    assert "参考来源" not in body["choices"][0]["message"]["content"]
    assert body["notices"][0].startswith("refused:")


def test_chat_completion_followup_strips_own_sources(client):
    first = client.post("/v1/chat/completions", json={"messages": [{"role": "user", "content": HTE_Q}]}).json()
    previous = first["choices"][0]["message"]["content"]
    assert "参考来源" in previous
    resp = client.post("/v1/chat/completions", json={"messages": [
        {"role": "user", "content": HTE_Q}, {"role": "assistant", "content": previous},
        {"role": "user", "content": FOLLOWUP_Q}]})
    body = resp.json()
    assert body["answerable"] is True
    assert "4142" in body["choices"][0]["message"]["content"]


def test_chat_completion_streaming(client):
    plain = client.post("/v1/chat/completions", json={"messages": [{"role": "user", "content": HTE_Q}]}).json()
    resp = client.post("/v1/chat/completions", json={"stream": True, "messages": [{"role": "user", "content": HTE_Q}]})
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/event-stream")
    events = parse_sse(resp.text)
    assert all(name is None for name, _ in events)
    assert events[-1][1] == "[DONE]"
    chunks = [json.loads(d) for _, d in events[:-1]]
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    assert len({c["id"] for c in chunks}) == 1
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    assert [c["choices"][0]["finish_reason"] for c in chunks].count("stop") == 1
    last = chunks[-1]
    assert last["choices"][0]["finish_reason"] == "stop"
    assert last["citations"] and "发展目标" in last["citations"][0]["section"]
    assert last["answerable"] is True
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks)
    assert text == plain["choices"][0]["message"]["content"]
    assert "6000" in text and "参考来源" in text


@pytest.mark.parametrize("messages, status", [
    ([{"role": "system", "content": "只有系统消息"}], 422),
    ([{"role": "assistant", "content": "你好"}], 422),
    ([], 422),
    ([{"role": "user", "content": "  "}], 422),
])
def test_chat_completion_without_a_question_is_422(client, messages, status):
    resp = client.post("/v1/chat/completions", json={"model": "policy-assistant", "messages": messages})
    assert resp.status_code == status, resp.text
    assert resp.json()["detail"][0]["loc"][:2] == ["body", "messages"]


def test_models_lists_the_assistant(client, built_settings):
    resp = client.get("/v1/models")
    assert resp.status_code == 200
    body = resp.json()
    assert body["object"] == "list"
    assert [m["id"] for m in body["data"]] == [built_settings.model_name] == ["policy-assistant"]
    assert body["data"][0]["object"] == "model"


# ---------------------------------------------------------------------------- ops
def test_healthz_and_readyz(client, assistant):
    assert client.get("/healthz").json() == {"status": "ok"}
    resp = client.get("/readyz")
    assert resp.status_code == 200
    body = resp.json()
    assert body["status"] == "ready"
    assert body["passages"] == assistant.info.passages
    assert body["documents"] == assistant.info.documents
    assert body["collection"] == assistant.info.collection
    assert body["embedder"] == assistant.info.embedder


def _samples(text: str, name: str) -> list[tuple[dict[str, str], float]]:
    out = []
    for line in text.splitlines():
        m = re.fullmatch(re.escape(name) + r"(?:\{(.*)\})? (\S+)", line)
        if m:
            labels = dict(re.findall(r'(\w+)="([^"]*)"', m.group(1) or ""))
            out.append((labels, float(m.group(2))))
    return out


def _value(text: str, name: str, **labels: str) -> float | None:
    for got, value in _samples(text, name):
        if got == labels:
            return value
    return None


def test_metrics_count_requests_per_route(built_settings, assistant):
    c = TestClient(create_app(built_settings, assistant=assistant, ui=False), raise_server_exceptions=False)
    for _ in range(2):
        assert c.post("/v1/ask", json={"question": HTE_Q}).status_code == 200
    assert c.post("/v1/ask", json={"question": ""}).status_code == 422
    pid = assistant.passages[3].id
    assert c.get(f"/v1/passages/{pid}").status_code == 200
    assert c.get("/no/such/page").status_code == 404
    resp = c.get("/metrics")
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/plain")
    text = resp.text
    assert _value(text, "pa_http_requests_total", route="/v1/ask", method="POST", status="200") == 2
    assert _value(text, "pa_http_requests_total", route="/v1/ask", method="POST", status="422") == 1
    # templated route, not the raw path (bounded label cardinality)
    assert _value(text, "pa_http_requests_total", route="/v1/passages/{passage_id}", method="GET", status="200") == 1
    assert pid not in text
    assert _value(text, "pa_http_requests_total", route="unmatched", method="GET", status="404") == 1
    assert _value(text, "pa_http_request_duration_seconds_count", route="/v1/ask", method="POST") == 3
    assert _value(text, "pa_http_request_duration_seconds_bucket", route="/v1/ask", method="POST", le="+Inf") == 3
    assert _value(text, "pa_index_passages") == assistant.info.passages
    assert _value(text, "pa_index_documents") == assistant.info.documents
    assert _value(text, "pa_ready") == 1


def test_not_ready_app_answers_503_but_stays_healthy(built_settings):
    app = create_app(built_settings, ui=False)
    c = TestClient(app, raise_server_exceptions=False)  # no `with`: lifespan (the index load) never runs
    assert c.get("/healthz").status_code == 200
    resp = c.get("/readyz")
    assert resp.status_code == 503
    assert resp.json()["status"] in {"starting", "loading"}
    assert resp.headers.get("retry-after") == "5"
    for method, path, payload in [("POST", "/v1/ask", {"question": HTE_Q}),
                                  ("POST", "/v1/ask/stream", {"question": HTE_Q}),
                                  ("POST", "/v1/search", {"query": "高企"}),
                                  ("POST", "/v1/chat/completions", {"messages": [{"role": "user", "content": HTE_Q}]}),
                                  ("GET", "/v1/documents", None)]:
        resp = c.request(method, path, json=payload)
        assert resp.status_code == 503, (path, resp.status_code, resp.text)
        assert "loading" in resp.json()["detail"], path
        assert resp.headers.get("retry-after") == "5"
    assert c.get("/v1/models").status_code == 200  # needs no index
    assert _value(c.get("/metrics").text, "pa_ready") == 0
    assert app.state.service._thread is None  # nothing was started behind our back


def test_lifespan_loads_the_index_in_background(built_settings, assistant):
    app = create_app(built_settings, ui=False)
    with TestClient(app, raise_server_exceptions=False) as c:
        assert app.state.service.wait(120), app.state.service.error
        resp = c.get("/readyz")
        assert resp.status_code == 200
        assert resp.json()["passages"] == assistant.info.passages
        assert resp.json()["ready_seconds"] > 0
        assert "6000" in c.post("/v1/ask", json={"question": HTE_Q}).json()["answer"]


@pytest.mark.parametrize("method, path, payload", [
    ("POST", "/v1/ask", {"question": HTE_Q}),
    ("POST", "/v1/ask/stream", {"question": HTE_Q}),
    ("POST", "/v1/chat/completions", {"messages": [{"role": "user", "content": HTE_Q}]}),
    ("POST", "/v1/chat/completions", {"stream": True, "messages": [{"role": "user", "content": HTE_Q}]}),
])
def test_unexpected_error_is_500_without_traceback(client, assistant, monkeypatch, method, path, payload):
    def boom(*args, **kwargs):
        raise RuntimeError("secret trace /home/app/key")

    # retrieval is shared by ask and ask_stream (and runs before a stream starts)
    monkeypatch.setattr(assistant.searcher, "search", boom)
    resp = client.request(method, path, json=payload)
    assert resp.status_code == 500
    assert resp.json() == {"detail": INTERNAL_ERROR}
    assert "Traceback" not in resp.text and "secret" not in resp.text


def test_unexpected_error_is_counted_as_500(built_settings, assistant, monkeypatch):
    c = TestClient(create_app(built_settings, assistant=assistant, ui=False), raise_server_exceptions=False)
    monkeypatch.setattr(assistant, "search", lambda *a, **k: 1 / 0)
    resp = c.post("/v1/search", json={"query": "高企"})
    assert resp.status_code == 500 and resp.json() == {"detail": INTERNAL_ERROR}
    assert _value(c.get("/metrics").text, "pa_http_requests_total", route="/v1/search", method="POST", status="500") == 1


# ---------------------------------------------------------------------------- docs
def test_openapi_documents_the_v1_api_with_chinese_examples(client):
    resp = client.get("/openapi.json")
    assert resp.status_code == 200
    spec = resp.json()
    for path in ("/v1/ask", "/v1/ask/stream", "/v1/search", "/v1/passages/{passage_id}", "/v1/documents",
                 "/v1/chat/completions", "/v1/models"):
        assert path in spec["paths"], path
    ask_schema = json.dumps(spec["components"]["schemas"]["AskRequest"], ensure_ascii=False)
    assert "到2025年长沙市高新技术企业数量目标是多少？" in ask_schema
    assert "那2020年呢？" in ask_schema
    assert "413" in spec["paths"]["/v1/ask"]["post"]["responses"]
    assert client.get("/docs").status_code == 200


def test_root_redirects_to_docs_without_ui(client):
    resp = client.get("/", follow_redirects=False)
    assert resp.status_code in (302, 307)
    assert resp.headers["location"] == "/docs"


# ---------------------------------------------------------------------------- httpx.AsyncClient + ASGITransport
def test_concurrent_requests_through_asgi_transport(app):
    async def run() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as ac:
            return await asyncio.gather(
                ac.post("/v1/ask", json={"question": HTE_Q}),
                ac.post("/v1/ask", json={"question": REFUSED_Q}),
                ac.post("/v1/ask", json={"question": ""}),
                ac.post("/v1/search", json={"query": "高企培育", "top_k": 1}),
                ac.get("/healthz"),
            )

    ok, refused, invalid, search, health = asyncio.run(run())
    assert ok.status_code == 200 and "6000" in ok.json()["answer"]
    assert refused.status_code == 200 and refused.json()["answerable"] is False
    assert invalid.status_code == 422 and invalid.json()["detail"][0]["loc"] == ["body", "question"]
    assert search.status_code == 200 and len(search.json()["hits"]) == 1
    assert health.json() == {"status": "ok"}
