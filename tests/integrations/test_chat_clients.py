"""Chat clients against the running server's /v1/chat/completions: LangChain's `ChatOpenAI` and the `openai`
client, plain and streaming. The citations of /v1/ask for the same question must survive: as the 参考来源 list
in the text (all a chat client shows), and as structured `citations` where the client keeps extra fields."""
from __future__ import annotations

import httpx
import openai
import pytest
from helpers import v1
from langchain_core.messages import AIMessage, HumanMessage
from langchain_openai import ChatOpenAI

QUESTIONS = ["到2025年高新技术企业数量目标是多少？", "长沙如何支持企业加大研发投入？"]
MODEL = "policy-assistant"


@pytest.fixture(scope="module")
def expected(live_server) -> dict[str, dict]:
    with httpx.Client(base_url=live_server, timeout=60) as c:
        return {q: v1(c, "/v1/ask", {"question": q}) for q in QUESTIONS}


def reference_lines(answer: dict) -> list[str]:
    return [f"[{c['n']}] {c['doc_title']} · {c['section']}" for c in answer["citations"]]


def cited_passages(citations: list[dict]) -> list[tuple[int, str]]:
    return [(c["n"], c["passage_id"]) for c in citations]


@pytest.fixture(scope="module")
def chat(live_server) -> ChatOpenAI:
    return ChatOpenAI(base_url=live_server + "/v1", api_key="unused", model=MODEL, max_retries=0, timeout=60)


@pytest.mark.parametrize("question", QUESTIONS)
def test_chatopenai_plain_and_streaming(chat, expected, question):
    answer = expected[question]
    assert answer["citations"], answer
    plain = chat.invoke([HumanMessage(question)])
    assert isinstance(plain, AIMessage)
    streamed = "".join(chunk.content for chunk in chat.stream([HumanMessage(question)]))
    for text in (plain.content, streamed):
        assert text.startswith(answer["answer"])
        assert text.endswith("参考来源：\n" + "\n".join(reference_lines(answer)))


def test_chatopenai_follow_up_keeps_the_conversation(chat, expected):
    first = QUESTIONS[0]
    previous = chat.invoke([HumanMessage(first)])
    reply = chat.invoke([HumanMessage(first), previous, HumanMessage("那2020年呢？")])
    with httpx.Client(base_url=chat.openai_api_base.removesuffix("/v1"), timeout=60) as c:
        follow_up = v1(c, "/v1/ask", {"question": "那2020年呢？", "history": [
            {"role": "user", "content": first}, {"role": "assistant", "content": expected[first]["answer"]}]})
    assert reply.content.startswith(follow_up["answer"])
    assert all(line in reply.content for line in reference_lines(follow_up))


@pytest.mark.parametrize("question", QUESTIONS)
def test_openai_client_keeps_the_structured_citations(live_server, expected, question):
    answer = expected[question]
    with openai.OpenAI(base_url=live_server + "/v1", api_key="unused", max_retries=0, timeout=60) as client:
        plain = client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": question}])
        chunks = list(client.chat.completions.create(model=MODEL, stream=True,
                                                     messages=[{"role": "user", "content": question}]))
    assert cited_passages(plain.model_extra["citations"]) == cited_passages(answer["citations"])
    assert cited_passages(chunks[-1].model_extra["citations"]) == cited_passages(answer["citations"])
    assert plain.choices[0].message.content == "".join(c.choices[0].delta.content or "" for c in chunks)
