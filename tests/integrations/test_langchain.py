"""LangChain: `PolicyRetriever` in a real LCEL chain with `ChatOpenAI` (the scripted OpenAI-compatible test server is
the model), and `policy_tools` called directly and from a model's tool call. Compared with /v1 for the same input."""
from __future__ import annotations

import asyncio
import json

import pytest
from helpers import v1
from langchain_core.documents import Document
from langchain_core.messages import HumanMessage
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables import RunnableLambda, RunnableParallel, RunnablePassthrough
from langchain_openai import ChatOpenAI
from openai_test_server import Reply
from pydantic import ValidationError

from assistant.integrations.langchain import PolicyRetriever, policy_tools

HTE_Q = "到2025年高新技术企业数量目标是多少？"
SUPPORT_Q = "长沙如何支持企业加大研发投入？"


def llm(server) -> ChatOpenAI:
    return ChatOpenAI(base_url=server.url, api_key="test-key", model="test-model", max_retries=0, timeout=30)


def passages(docs: list[Document]) -> str:
    """Documents as the numbered <passage> blocks the prompt gives the model, each with its section path."""
    return "\n".join(f'<passage n="{i}" section="{d.metadata["section"]}">{d.page_content}</passage>'
                     for i, d in enumerate(docs, start=1))


def same_as_search(docs: list[Document], hits: list[dict]) -> None:
    assert [d.id for d in docs] == [d.metadata["passage_id"] for d in docs] == [h["passage_id"] for h in hits]
    assert [d.page_content for d in docs] == [h["text"] for h in hits]
    assert [(d.metadata["doc_title"], d.metadata["section"]) for d in docs] == \
           [(h["doc_title"], h["section"]) for h in hits]
    assert [d.metadata["score"] for d in docs] == pytest.approx([h["score"] for h in hits], abs=1e-6)


@pytest.mark.parametrize("question", [HTE_Q, SUPPORT_Q])
def test_retriever_returns_the_v1_search_passages(assistant, http, question):
    retriever = PolicyRetriever(assistant=assistant, k=4)
    assert isinstance(retriever, BaseRetriever)
    docs = retriever.invoke(question)
    same_as_search(docs, v1(http, "/v1/search", {"query": question, "top_k": 4})["hits"])
    assert all(d.metadata["section_levels"] and d.metadata["doc_id"] for d in docs)
    assert asyncio.run(retriever.ainvoke(question)) == docs


def test_retriever_filters(assistant, http):
    filters = {"kind": "table_row"}
    docs = PolicyRetriever(assistant=assistant, k=3, filters=filters).invoke(HTE_Q)
    same_as_search(docs, v1(http, "/v1/search", {"query": HTE_Q, "top_k": 3, "filters": filters})["hits"])
    assert {d.metadata["kind"] for d in docs} == {"table_row"}


def test_lcel_chain_answers_with_section_paths(assistant, http, server):
    prompt = ChatPromptTemplate.from_messages([
        ("system", "只根据给出的段落回答，并用[n]标注来源。"), ("user", "{context}\n\n问题：{question}")])
    answer = RunnableLambda(lambda x: {"context": passages(x["docs"]), "question": x["question"]}) \
        | prompt | llm(server) | StrOutputParser()
    chain = RunnableParallel(docs=PolicyRetriever(assistant=assistant, k=3), question=RunnablePassthrough()) \
        .assign(answer=answer)
    out = chain.invoke(HTE_Q)
    same_as_search(out["docs"], v1(http, "/v1/search", {"query": HTE_Q, "top_k": 3})["hits"])
    sent = server.requests[-1]["messages"][-1]["content"]
    assert all(d.metadata["section"] in sent and d.page_content in sent for d in out["docs"])
    first = out["docs"][0].page_content
    assert out["answer"].startswith(first[:10]) and "[1]" in out["answer"]  # the model's grounded reply
    streamed = "".join(chunk.get("answer", "") for chunk in chain.stream(HTE_Q))
    assert streamed == out["answer"]


def test_ask_tool_gives_the_v1_answer_and_its_citations(assistant, http):
    ask = {t.name: t for t in policy_tools(assistant)}["ask"]
    expected = v1(http, "/v1/ask", {"question": HTE_Q})
    message = ask.invoke({"name": "ask", "args": {"question": HTE_Q}, "id": "call-1", "type": "tool_call"})
    # the tool's artifact is Answer.to_dict(): the /v1 answer's fields, plus what the API leaves out
    # (curated_id, the evidence score the question log keeps)
    assert {k: v for k, v in message.artifact.items() if k in expected} == expected
    assert set(message.artifact) - set(expected) <= {"curated_id", "evidence"}
    assert message.content.startswith(expected["answer"]) and "参考来源" in message.content
    assert all(f"[{c['n']}] {c['doc_title']} · {c['section']}" in message.content for c in expected["citations"])
    followup = ask.invoke({"question": "那2020年呢？", "history": [
        {"role": "user", "content": HTE_Q}, {"role": "assistant", "content": expected["answer"]}]})
    assert followup.startswith(v1(http, "/v1/ask", {"question": "那2020年呢？", "history": [
        {"role": "user", "content": HTE_Q}, {"role": "assistant", "content": expected["answer"]}]})["answer"])


def test_search_tool_gives_the_v1_hits(assistant, http):
    search = {t.name: t for t in policy_tools(assistant)}["search_policies"]
    hits = v1(http, "/v1/search", {"query": SUPPORT_Q, "top_k": 3})["hits"]
    message = search.invoke({"name": "search_policies", "args": {"query": SUPPORT_Q, "top_k": 3},
                             "id": "call-2", "type": "tool_call"})
    assert [h["passage_id"] for h in message.artifact] == [h["passage_id"] for h in hits]
    assert [h["text"] for h in message.artifact] == [h["text"] for h in hits]
    assert all(f"{h['doc_title']} · {h['section']}" in message.content for h in hits)


def test_tool_errors_are_told_to_the_model(assistant):
    ask, search = policy_tools(assistant)
    message = ask.invoke({"name": "ask", "args": {"question": "   "}, "id": "call-3", "type": "tool_call"})
    assert message.status == "error" and "question" in message.content
    message = search.invoke({"name": "search_policies", "args": {"query": "科技", "filters": {"bogus": "x"}},
                             "id": "call-4", "type": "tool_call"})
    assert message.status == "error" and "filters" in message.content and "bogus" in message.content
    with pytest.raises(ValidationError, match="top_k"):
        search.invoke({"query": "科技", "top_k": 0})


def test_chatopenai_calls_the_ask_tool(assistant, http, server):
    """A model bound to the tools asks for `ask`; its result goes back to the model with the citations."""
    tools = {t.name: t for t in policy_tools(assistant)}
    call = {"id": "call_ask_1", "type": "function", "function": {"name": "ask", "arguments": json.dumps(
        {"question": HTE_Q}, ensure_ascii=False)}}
    server.push(Reply(raw=json.dumps({
        "id": "chatcmpl-tool", "object": "chat.completion", "created": 0, "model": "test-model",
        "choices": [{"index": 0, "finish_reason": "tool_calls",
                     "message": {"role": "assistant", "content": None, "tool_calls": [call]}}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}})))
    model = llm(server).bind_tools(list(tools.values()))
    question = HumanMessage(HTE_Q)
    ai = model.invoke([question])
    assert {t["function"]["name"] for t in server.requests[0]["tools"]} == {"ask", "search_policies"}
    assert ai.tool_calls[0]["name"] == "ask" and ai.tool_calls[0]["args"] == {"question": HTE_Q}
    result = tools["ask"].invoke(ai.tool_calls[0])
    model.invoke([question, ai, result])
    sent = server.requests[-1]["messages"][-1]
    assert sent["role"] == "tool" and sent["tool_call_id"] == "call_ask_1"
    for c in v1(http, "/v1/ask", {"question": HTE_Q})["citations"]:
        assert f"[{c['n']}] {c['doc_title']} · {c['section']}" in sent["content"]
