"""The scripted OpenAI test server, exercised with the REAL `openai` client over real HTTP.

These tests also pin down how the client reports each failure mode, which the app's fallback
handling relies on.
"""
from __future__ import annotations

import json

import openai
import pytest

from openai_test_server import NO_ANSWER, OpenAITestServer, Reply, default_reply

PASSAGE_1 = '<passage n="1" doc="长沙市“十四五”科技创新规划" section="第二章 > 发展目标">\n' \
            "到2025年，高新技术企业达到8000家。研发投入持续增长；创新能力显著提升。\n</passage>"
PASSAGE_2 = '<passage n="2" doc="长沙市高企培育办法" section="第一条">\n' \
            "支持企业申报高新技术企业；给予奖励。\n</passage>"
MESSAGES = [{"role": "user", "content": "hi"}]


@pytest.fixture
def client(server):
    server.reset()
    return openai.OpenAI(base_url=server.url, api_key="k", max_retries=0)


def chat(client, messages=MESSAGES, **kw):
    return client.chat.completions.create(model="test-model", messages=messages, **kw)


def test_models_list(client):
    assert [m.id for m in client.models.list()] == ["test-model"]


def test_non_stream_scripted_content(server, client):
    server.push("第一条回答", Reply(content="second", finish_reason="length"))
    first, second = chat(client), chat(client)
    assert first.object == "chat.completion" and first.choices[0].message.role == "assistant"
    assert first.choices[0].message.content == "第一条回答" and first.choices[0].finish_reason == "stop"
    assert second.choices[0].message.content == "second" and second.choices[0].finish_reason == "length"
    assert first.usage.completion_tokens == len("第一条回答")


def test_stream_scripted_content(server, client):
    content = "到2025年，高新技术企业达到8000家。[1]"
    server.push(Reply(content=content, chunk_size=3, chunk_delay=0.01))
    chunks = list(chat(client, stream=True))
    assert chunks[0].choices[0].delta.role == "assistant"
    deltas = [c.choices[0].delta.content or "" for c in chunks]
    assert "".join(deltas) == content
    assert all(len(d) <= 3 for d in deltas)
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert all(c.choices[0].finish_reason is None for c in chunks[:-1])


def test_stream_include_usage(server, client):
    server.push("abc")
    chunks = list(chat(client, stream=True, stream_options={"include_usage": True}))
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens == 3


def grounded_prompt(*passages: str) -> list[dict]:
    user = "\n\n".join(passages) + "\n\n问题：到2025年高企目标是多少？"
    return [{"role": "system", "content": "你是政策助手。只根据资料回答。"}, {"role": "user", "content": user}]


def test_grounded_default_two_passages(client):
    reply = chat(client, grounded_prompt(PASSAGE_1, PASSAGE_2)).choices[0].message.content
    assert reply == "到2025年，高新技术企业达到8000家。[1]支持企业申报高新技术企业；[2]"


def test_grounded_default_one_passage_streamed(client):
    chunks = chat(client, grounded_prompt(PASSAGE_1), stream=True)
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == "到2025年，高新技术企业达到8000家。[1]"


def test_grounded_default_edge_cases():
    def ask(user):
        return default_reply({"messages": [{"role": "user", "content": user}]})

    assert ask("问题：你好") == NO_ANSWER
    assert ask('<passage n="1" doc="a" section="b">\n没有句号的文本\n</passage>') == "没有句号的文本[1]"
    assert ask(f'<passage n="1" doc="x > y" section="s">\n{"长" * 300}\n</passage>') == "长" * 120 + "[1]"


def test_rewrite_default(client):
    messages = [{"role": "system", "content": "你是检索查询改写器。把追问改写成独立的检索查询。"},
                {"role": "user", "content": "上一问：到2025年高企目标是多少？\n追问：那2020年呢？"}]
    assert chat(client, messages).choices[0].message.content == "到2025年高企目标是多少？ 那2020年呢？"
    messages[1]["content"] = "追问：研发投入呢？"
    assert chat(client, messages).choices[0].message.content == "研发投入呢？"


@pytest.mark.parametrize("status, error", [
    (400, openai.BadRequestError),
    (401, openai.AuthenticationError),
    (404, openai.NotFoundError),
    (429, openai.RateLimitError),
    (500, openai.InternalServerError),
    (503, openai.InternalServerError),
])
@pytest.mark.parametrize("stream", [False, True])
def test_error_status(server, client, status, error, stream):
    server.push(Reply(content="scripted failure", status=status, headers={"Retry-After": "0"}))
    with pytest.raises(error) as info:
        chat(client, stream=stream)
    assert isinstance(info.value, openai.APIStatusError) and info.value.status_code == status
    assert info.value.body["message"] == "scripted failure"  # the client unwraps {"error": {...}}
    assert info.value.response.headers["retry-after"] == "0"


def test_malformed_json_body_raises_json_decode_error(server, client):
    # Not wrapped in an openai exception: the bare json.JSONDecodeError (a ValueError) escapes.
    server.push(Reply(raw="{not json"), Reply(raw=""))
    for _ in range(2):
        with pytest.raises(json.JSONDecodeError):
            chat(client)


def test_wrong_shape_json_is_not_validated_by_default(server, client):
    # Valid JSON of the wrong shape is accepted as-is (choices=None) unless strict validation is on.
    server.push(Reply(raw='{"foo": 1}'), Reply(raw='{"foo": 1}'))
    assert chat(client).choices is None
    strict = openai.OpenAI(base_url=server.url, api_key="k", max_retries=0, _strict_response_validation=True)
    with pytest.raises(openai.APIResponseValidationError):
        chat(strict)


def test_malformed_stream(server, client):
    server.push(Reply(raw="data: {bad\n\n"))
    with pytest.raises(json.JSONDecodeError):
        list(chat(client, stream=True))
    server.push(Reply(raw="this is not SSE"))  # no events, no [DONE]: silently an empty stream
    assert list(chat(client, stream=True)) == []
    server.push(Reply(raw='data: {"error": {"message": "boom"}}\n\n'))  # in-band error event, HTTP 200
    with pytest.raises(openai.APIError, match="boom") as info:
        list(chat(client, stream=True))
    assert not isinstance(info.value, openai.APIStatusError)


def test_delay_beyond_timeout(server, client):
    server.push(Reply(content="late", delay=2))
    with pytest.raises(openai.APITimeoutError):  # subclass of APIConnectionError
        chat(client, timeout=0.5)


def test_stream_stall_beyond_timeout(server, client):
    # The timeout is per read: the stream opens, yields chunks, then times out while iterating.
    server.push(Reply(content="abcdefgh", chunk_size=2, chunk_delay=0.05), Reply(content="abcdefgh", chunk_size=2))
    assert "".join(c.choices[0].delta.content or "" for c in chat(client, stream=True, timeout=0.5)) == "abcdefgh"
    server.reset()
    server.push(Reply(content="abcdefgh", chunk_size=2, chunk_delay=1))
    stream = chat(client, stream=True, timeout=0.5)
    assert next(iter(stream)).choices[0].delta.role == "assistant"
    with pytest.raises(openai.APITimeoutError):
        list(stream)


def test_slow_reply_does_not_block_other_requests(server, client):
    import threading
    import time

    server.push(Reply(content="slow", delay=1), "fast")
    slow = threading.Thread(target=lambda: chat(client))
    slow.start()
    time.sleep(0.1)
    started = time.monotonic()
    assert chat(client).choices[0].message.content == "fast"
    assert time.monotonic() - started < 0.5
    slow.join()


def test_connection_refused():
    with OpenAITestServer() as srv:
        url = srv.url
    dead = openai.OpenAI(base_url=url, api_key="k", max_retries=0)
    with pytest.raises(openai.APIConnectionError) as info:
        dead.models.list()
    assert not isinstance(info.value, openai.APITimeoutError)


def test_api_key_mismatch():
    with OpenAITestServer(api_key="secret") as srv:
        srv.push("ok")
        wrong = openai.OpenAI(base_url=srv.url, api_key="wrong", max_retries=0)
        with pytest.raises(openai.AuthenticationError) as info:
            chat(wrong)
        assert info.value.status_code == 401 and info.value.code == "invalid_api_key"
        with pytest.raises(openai.AuthenticationError):
            wrong.models.list()
        good = openai.OpenAI(base_url=srv.url, api_key="secret", max_retries=0)
        assert chat(good).choices[0].message.content == "ok"  # the 401 did not consume the queued reply
        assert [m.id for m in good.models.list()] == ["test-model"]


def test_requests_are_recorded(server, client):
    server.push("a", "b")
    chat(client, [{"role": "user", "content": "一"}], temperature=0.1)
    list(chat(client, [{"role": "user", "content": "二"}], stream=True))
    assert [r["messages"][0]["content"] for r in server.requests] == ["一", "二"]
    assert server.requests[0]["temperature"] == 0.1 and server.requests[0]["model"] == "test-model"
    assert server.requests[1]["stream"] is True
    server.reset()
    assert server.requests == [] and chat(client).choices[0].message.content == NO_ANSWER
