"""The OpenAI-compatible endpoint driven by the official `openai` client against the live server."""
from __future__ import annotations

import openai
import pytest

HTE_Q = "到2025年高新技术企业数量目标是多少？"
REFUSED_Q = "上海市浦东新区的人才公寓补贴是多少？"
MODEL = "policy-assistant"


@pytest.fixture(scope="module")
def client(live_server):
    c = openai.OpenAI(base_url=live_server + "/v1", api_key="unused", max_retries=0, timeout=60)
    yield c
    c.close()


@pytest.fixture(scope="module")
def plain_answer(live_server) -> str:
    import httpx

    return httpx.post(live_server + "/v1/ask", json={"question": HTE_Q}, timeout=60).json()["answer"]


def test_models_list(client):
    ids = [m.id for m in client.models.list()]
    assert ids == [MODEL]


def test_chat_completion(client, plain_answer):
    resp = client.chat.completions.create(model=MODEL, messages=[
        {"role": "system", "content": "请用中文回答"}, {"role": "user", "content": HTE_Q}])
    assert resp.object == "chat.completion"
    assert resp.model == MODEL
    choice = resp.choices[0]
    assert choice.finish_reason == "stop"
    assert choice.message.role == "assistant"
    content = choice.message.content
    assert content.startswith(plain_answer)
    assert "6000" in content and "\n\n参考来源：\n[1] " in content
    citations = resp.model_extra["citations"]
    assert citations and "发展目标" in citations[0]["section"]
    assert f"[1] {citations[0]['doc_title']} · {citations[0]['section']}" in content
    assert resp.model_extra["answerable"] is True
    assert resp.model_extra["mode"] == "extractive"
    assert resp.usage.total_tokens == resp.usage.prompt_tokens + resp.usage.completion_tokens


def test_chat_completion_refusal(client):
    resp = client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": REFUSED_Q}])
    assert resp.model_extra["answerable"] is False
    assert resp.model_extra["citations"] == []
    assert "参考来源" not in resp.choices[0].message.content
    assert resp.model_extra["notices"][0].startswith("refused:")


def test_chat_completion_streaming(client, plain_answer):
    stream = client.chat.completions.create(model=MODEL, stream=True,
                                            messages=[{"role": "user", "content": HTE_Q}])
    chunks = list(stream)
    assert len(chunks) >= 3
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    assert text.startswith(plain_answer)
    assert "参考来源" in text and "6000" in text
    finished = [c for c in chunks if c.choices[0].finish_reason == "stop"]
    assert len(finished) == 1 and finished[0] is chunks[-1]
    citations = chunks[-1].model_extra["citations"]
    assert citations and "发展目标" in citations[0]["section"]
    assert f"[1] {citations[0]['doc_title']} · {citations[0]['section']}" in text
    assert chunks[-1].model_extra["answerable"] is True
    assert len({c.id for c in chunks}) == 1


def test_multi_turn_followup(client):
    first = client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": HTE_Q}])
    previous = first.choices[0].message.content
    resp = client.chat.completions.create(model=MODEL, messages=[
        {"role": "user", "content": HTE_Q},
        {"role": "assistant", "content": previous},
        {"role": "user", "content": "那2020年呢？"}])
    assert resp.model_extra["answerable"] is True
    assert "4142" in resp.choices[0].message.content
    assert any("4142" in c["text"] for c in resp.model_extra["citations"])


def test_no_user_message_is_unprocessable(client):
    with pytest.raises(openai.UnprocessableEntityError) as info:
        client.chat.completions.create(model=MODEL, messages=[{"role": "system", "content": "只有系统提示"}])
    assert info.value.status_code == 422
    body = info.value.body  # the parsed JSON error body
    detail = body["detail"] if isinstance(body, dict) else body
    assert detail[0]["loc"] == ["body", "messages"]
    assert "user message" in detail[0]["msg"]
