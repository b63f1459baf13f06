"""The HTTP service in LLM mode (FastAPI TestClient, real middleware, the real Assistant and `openai` client
talking to the scripted test server over real HTTP): /v1/ask, /v1/ask/stream, /v1/chat/completions.
"""
from __future__ import annotations

import json

import openai
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.routes.openai_compat import SOURCES_HEADER
from helpers import llm_settings, other_indicator, parse_sse
from openai_test_server import Reply

Q_TARGET = "到2025年高新技术企业数量目标是多少？"
ROW_6000 = "2025年目标 6000"
BAD_AWARD = "每家企业奖励50万元"
GOOD_SHOWN = "到2025年，高新技术企业数量目标为6000家[1]。"
CORRECTED = "（以下为核对后的回答）"


# ---------------------------------------------------------------------------- helpers / fixtures
@pytest.fixture(scope="module")
def client(built_settings, server, llm_assistant):
    app = create_app(llm_settings(built_settings, server.url), assistant=llm_assistant, ui=False)
    with TestClient(app) as c:
        yield c


@pytest.fixture(scope="module")
def given(llm_assistant) -> list[str]:
    """Texts of the passages the model is given for Q_TARGET, as numbered in its prompt."""
    return [h.passage.text for h in llm_assistant.search(Q_TARGET, 5)]


@pytest.fixture(scope="module")
def n_6000(given) -> int:
    return next(n for n, t in enumerate(given, 1) if ROW_6000 in t)


@pytest.fixture(scope="module")
def other_row(given) -> tuple[int, str, str]:
    return other_indicator(given, ROW_6000)


def chat_chunks(resp) -> list[dict]:
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"].startswith("text/event-stream")
    events = parse_sse(resp.text)
    assert all(name is None for name, _ in events)
    assert events[-1][1] == "[DONE]"
    return [json.loads(data) for _, data in events[:-1]]


def chat_content(chunks: list[dict]) -> str:
    return "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks)


# ---------------------------------------------------------------------------- /v1/ask and /v1/ask/stream
def test_ask_llm_mode(client, server, n_6000):
    server.push(f"到2025年，高新技术企业数量目标为6000家[{n_6000}]。")
    resp = client.post("/v1/ask", json={"question": Q_TARGET})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["mode"] == "llm" and body["answerable"] is True
    assert body["answer"] == GOOD_SHOWN and body["notices"] == []
    assert [c["n"] for c in body["citations"]] == [1]
    assert ROW_6000 in body["citations"][0]["text"] and body["citations"][0]["quote"]
    assert body["standalone_question"] == Q_TARGET
    assert len(server.requests) == 1


def test_ask_stream_llm_mode(client, server, given, n_6000):
    scripted = f"到2025年，高新技术企业数量目标为6000家[{n_6000}]。"
    server.push(Reply(content=scripted, chunk_size=3))
    resp = client.post("/v1/ask/stream", json={"question": Q_TARGET})
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"].startswith("text/event-stream")
    events = parse_sse(resp.text)
    names = [name for name, _ in events]
    assert names[0] == "citations" and names[-1] == "answer"
    assert set(names[1:-1]) == {"delta"} and len(names) - 2 >= len(scripted) // 3

    citations = json.loads(events[0][1])["citations"]
    assert [c["n"] for c in citations] == [1, 2, 3, 4, 5]
    assert [c["text"] for c in citations] == given  # the passages the model was given, as numbered for it
    deltas = "".join(json.loads(data)["text"] for name, data in events if name == "delta")
    assert deltas == scripted

    final = json.loads(events[-1][1])
    assert final["mode"] == "llm" and final["answerable"] is True
    assert final["answer"] == GOOD_SHOWN and final["notices"] == []
    assert ROW_6000 in final["citations"][0]["text"]
    assert server.requests[0]["stream"] is True


def test_ask_stream_final_answer_is_the_checked_one(client, server, n_6000):
    scripted = f"到2025年，高新技术企业数量目标为6000家[{n_6000}]。{BAD_AWARD}[{n_6000}]。"
    server.push(Reply(content=scripted, chunk_size=4))
    events = parse_sse(client.post("/v1/ask/stream", json={"question": Q_TARGET}).text)
    deltas = "".join(json.loads(data)["text"] for name, data in events if name == "delta")
    assert deltas == scripted
    final = json.loads(events[-1][1])
    assert events[-1][0] == "answer"
    assert final["mode"] == "llm" and final["answer"] == GOOD_SHOWN
    assert BAD_AWARD not in final["answer"]
    assert final["notices"][0].startswith("repaired: dropped 1 sentence(s)") and "50万元" in final["notices"][0]


# ---------------------------------------------------------------------------- /v1/chat/completions
def test_chat_completions_llm_mode(client, server, n_6000):
    server.push(f"到2025年，高新技术企业数量目标为6000家[{n_6000}]。")
    resp = client.post("/v1/chat/completions", json={"model": "policy-assistant",
                                                     "messages": [{"role": "user", "content": Q_TARGET}]})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["object"] == "chat.completion" and body["model"] == "policy-assistant"
    content = body["choices"][0]["message"]["content"]
    assert content.startswith(GOOD_SHOWN + "\n\n" + SOURCES_HEADER + "\n[1] ")
    assert body["mode"] == "llm" and body["answerable"] is True and body["notices"] == []
    assert [c["n"] for c in body["citations"]] == [1] and ROW_6000 in body["citations"][0]["text"]
    assert body["citations"][0]["section"] in content
    assert len(server.requests) == 1 and server.requests[0]["model"] == "test-model"


def test_chat_completions_stream_llm_mode(client, server, n_6000):
    scripted = f"到2025年，高新技术企业数量目标为6000家[{n_6000}]。"
    server.push(Reply(content=scripted, chunk_size=3))
    resp = client.post("/v1/chat/completions", json={"model": "policy-assistant", "stream": True,
                                                     "messages": [{"role": "user", "content": Q_TARGET}]})
    chunks = chat_chunks(resp)
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    content = chat_content(chunks)
    # the streamed text equals the checked answer here, so only the sources follow it
    assert content.startswith(scripted + "\n\n" + SOURCES_HEADER + "\n[1] ") and CORRECTED not in content
    final = chunks[-1]
    assert final["choices"][0]["finish_reason"] == "stop"
    assert final["mode"] == "llm" and final["answerable"] is True
    assert [c["n"] for c in final["citations"]] == [1] and ROW_6000 in final["citations"][0]["text"]
    assert all("citations" not in c for c in chunks[:-1])


def test_chat_stream_appends_the_corrected_answer(client, server, n_6000):
    scripted = f"到2025年，高新技术企业数量目标为6000家[{n_6000}]。{BAD_AWARD}[{n_6000}]。"
    server.push(Reply(content=scripted, chunk_size=4))
    resp = client.post("/v1/chat/completions", json={"model": "policy-assistant", "stream": True,
                                                     "messages": [{"role": "user", "content": Q_TARGET}]})
    chunks = chat_chunks(resp)
    content = chat_content(chunks)
    assert content.startswith(scripted)  # what streamed before the check
    later = content[len(scripted):]
    assert later.startswith("\n\n" + CORRECTED + "\n" + GOOD_SHOWN + "\n\n" + SOURCES_HEADER)
    assert BAD_AWARD not in later
    final = chunks[-1]
    assert final["mode"] == "llm" and final["notices"][0].startswith("repaired:")
    assert [c["n"] for c in final["citations"]] == [1] and ROW_6000 in final["citations"][0]["text"]


def test_chat_stream_renumbered_citations_are_corrected(client, server, other_row):
    n_para, label, claim = other_row
    assert n_para != 1
    scripted = f"{claim}[{n_para}]。"
    server.push(Reply(content=scripted, chunk_size=5))
    chunks = chat_chunks(client.post("/v1/chat/completions", json={
        "model": "policy-assistant", "stream": True, "messages": [{"role": "user", "content": Q_TARGET}]}))
    content = chat_content(chunks)
    shown = f"{claim}[1]。"
    assert content.startswith(scripted + "\n\n" + CORRECTED + "\n" + shown + "\n\n" + SOURCES_HEADER + "\n[1] ")
    final = chunks[-1]
    assert final["mode"] == "llm" and final["notices"] == []
    assert len(final["citations"]) == 1 and label in final["citations"][0]["text"]


def test_chat_stream_fallback_carries_the_extractive_citations(client, server):
    server.push(*[Reply(status=500, headers={"Retry-After": "0"})] * 3)
    chunks = chat_chunks(client.post("/v1/chat/completions", json={
        "model": "policy-assistant", "stream": True, "messages": [{"role": "user", "content": Q_TARGET}]}))
    content = chat_content(chunks)
    final = chunks[-1]
    assert final["mode"] == "extractive" and final["notices"][0].startswith("fallback: ")
    assert final["citations"] and ROW_6000 in final["citations"][0]["text"]
    assert "6000" in content and SOURCES_HEADER in content


def test_chat_followup_history_drops_our_sources_block(client, server, n_6000):
    server.push(f"到2025年，高新技术企业数量目标为6000家[{n_6000}]。")
    first = client.post("/v1/chat/completions", json={"messages": [{"role": "user", "content": Q_TARGET}]}).json()
    first_text = first["choices"][0]["message"]["content"]
    assert SOURCES_HEADER in first_text
    server.reset()
    server.push("2020年高新技术企业有多少家？")
    resp = client.post("/v1/chat/completions", json={"messages": [
        {"role": "user", "content": Q_TARGET}, {"role": "assistant", "content": first_text},
        {"role": "user", "content": "那2020年呢？"}]})
    assert resp.status_code == 200, resp.text
    rewrite = server.requests[0]["messages"]
    assert rewrite[0]["content"].startswith("你是检索查询改写器")
    assert f"上一答：{GOOD_SHOWN}\n" in rewrite[1]["content"] and SOURCES_HEADER not in rewrite[1]["content"]
    body = resp.json()
    assert body["answerable"] is True and body["mode"] == "llm"
    assert "4142" in body["choices"][0]["message"]["content"]


def test_openai_client_streams_from_the_service_in_llm_mode(client, server, n_6000):
    """The real `openai` client against our endpoint (TestClient as its transport)."""
    server.push(Reply(content=f"到2025年，高新技术企业数量目标为6000家[{n_6000}]。", chunk_size=3))
    oa = openai.OpenAI(base_url=str(client.base_url) + "/v1", api_key="unused", http_client=client, max_retries=0)
    chunks = list(oa.chat.completions.create(model="policy-assistant", stream=True,
                                             messages=[{"role": "user", "content": Q_TARGET}]))
    content = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert content.startswith(GOOD_SHOWN + "\n\n" + SOURCES_HEADER)
    extra = chunks[-1].model_extra
    assert extra["mode"] == "llm" and extra["citations"][0]["n"] == 1
    assert ROW_6000 in extra["citations"][0]["text"]
