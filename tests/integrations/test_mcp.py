"""The MCP server, driven by the official `mcp` client: over streamable HTTP against running servers (the
`serve` process, as `./dev start` runs it, and the app under uvicorn) and over stdio (`python -m assistant mcp`).
Every tool's result is compared with what the /v1 endpoint it mirrors answers for the same arguments."""
from __future__ import annotations

import asyncio
import json
import sys

import httpx
import pytest
from helpers import ThreadedServer, mcp_calls, parse_sse, v1

TOOLS = {"search_policies", "ask", "get_passage", "match_support", "list_documents"}
HTE_Q = "到2025年高新技术企业数量目标是多少？"
SEARCH_Q = "大科城"
PROFILE = {"entity_type": "enterprise", "qualifications": ["高新技术企业"], "industry": "生物医药",
           "park": "浏阳经开区", "description": "今年首次认定"}


def structured(result) -> dict:
    """A successful tool result: its structured content, which its text content carries too."""
    assert not result.is_error, result.content
    assert json.loads(result.content[0].text) == result.structured_content
    return result.structured_content


def error_text(result) -> str:
    assert result.is_error, result.structured_content
    return result.content[0].text


def test_fresh_server_lists_five_tools_and_ask_cites_as_v1(live_server):
    """`./dev start`'s server (python -m assistant serve): five tools; `ask` cites what /v1/ask cites."""
    names, (answer,) = mcp_calls(live_server + "/mcp", [("ask", {"question": HTE_Q})])
    assert set(names) == TOOLS and len(names) == 5
    with httpx.Client(base_url=live_server, timeout=60) as c:
        expected = v1(c, "/v1/ask", {"question": HTE_Q})
    got = structured(answer)
    assert expected["citations"], expected
    assert [(x["passage_id"], x["section"]) for x in got["citations"]] == \
           [(x["passage_id"], x["section"]) for x in expected["citations"]]
    assert got["answer"] == expected["answer"]


def test_every_tool_answers_as_its_v1_endpoint(app_server, http):
    search = v1(http, "/v1/search", {"query": SEARCH_Q, "top_k": 3})
    pid = search["hits"][0]["passage_id"]
    names, results = mcp_calls(app_server + "/mcp", [
        ("search_policies", {"query": SEARCH_Q, "top_k": 3}),
        ("ask", {"question": HTE_Q}),
        ("get_passage", {"passage_id": pid, "context": 1}),
        ("match_support", {"profile": PROFILE, "limit": 5}),
        ("list_documents", {}),
    ])
    assert set(names) == TOOLS
    assert structured(results[0]) == search
    assert structured(results[1]) == v1(http, "/v1/ask", {"question": HTE_Q})
    assert structured(results[2]) == v1(http, f"/v1/passages/{pid}?context=1")
    assert structured(results[3]) == v1(http, "/v1/eligibility", {"profile": PROFILE, "limit": 5})
    assert structured(results[4]) == v1(http, "/v1/documents")
    # what an agent needs to cite: document title, section path, passage id and text
    hit = structured(results[0])["hits"][0]
    assert all(hit[k] for k in ("doc_title", "section", "passage_id", "text"))
    assert structured(results[2])["passage"]["section_levels"]


def test_tools_are_read_only_and_typed(app_server):
    from mcp import Client

    async def listed():
        async with Client(app_server + "/mcp") as client:
            return (await client.list_tools()).tools

    tools = {t.name: t for t in asyncio.run(listed())}
    assert set(tools) == TOOLS  # no upload, removal, evaluation or feedback export
    for tool in tools.values():
        assert tool.annotations.read_only_hint is True
        assert any("\u4e00" <= ch <= "\u9fff" for ch in tool.description), tool.name  # Chinese …
        assert any(ch.isascii() and ch.isalpha() for ch in tool.description), tool.name  # … and English
        assert tool.output_schema, tool.name
    search = tools["search_policies"].input_schema
    assert search["required"] == ["query"]
    assert search["properties"]["top_k"]["maximum"] == 50 and search["properties"]["top_k"]["minimum"] == 1
    assert "profile" in tools["match_support"].input_schema["required"]


@pytest.mark.parametrize("tool,args,names", [
    ("search_policies", {"query": SEARCH_Q, "top_k": 0}, ["top_k"]),
    ("search_policies", {"query": SEARCH_Q, "filters": {"bogus": "x"}}, ["bogus", "filters"]),
    ("search_policies", {"top_k": 3}, ["query"]),
    ("ask", {"question": "   "}, ["question"]),
    ("ask", {"question": "高企" * 300}, ["question", "PA_MAX_QUESTION_CHARS"]),
    ("ask", {"question": HTE_Q, "history": [{"role": "robot", "content": "x"}]}, ["history", "role"]),
    ("get_passage", {"passage_id": "no-such-passage"}, ["passage_id", "no-such-passage"]),
    ("get_passage", {"passage_id": "x", "context": 99}, ["context"]),
    ("match_support", {"profile": {"entity_type": "alien"}}, ["profile", "entity_type"]),
])
def test_a_bad_argument_is_a_tool_error_naming_it(app_server, tool, args, names):
    _, (result,) = mcp_calls(app_server + "/mcp", [(tool, args)])
    text = error_text(result)
    assert all(name in text for name in names), text
    assert "Traceback" not in text and "internal error" not in text


def test_over_stdio_for_desktop_clients(cli_env, http):
    """`python -m assistant mcp` as a desktop client runs it: a subprocess speaking MCP on stdin/stdout."""
    from mcp import Client, StdioServerParameters

    params = StdioServerParameters(command=sys.executable, args=["-m", "assistant", "mcp"], env=cli_env)

    async def session():
        async with Client(params) as client:
            names = [t.name for t in (await client.list_tools()).tools]
            return names, await client.call_tool("ask", {"question": HTE_Q}), \
                await client.call_tool("search_policies", {"query": SEARCH_Q, "top_k": 0})

    names, answer, bad = asyncio.run(session())
    assert set(names) == TOOLS
    assert structured(answer) == v1(http, "/v1/ask", {"question": HTE_Q})
    assert "top_k" in error_text(bad)


def test_clients_of_the_2025_protocol_need_no_session(app_server, http):
    """Clients on protocol 2025-06-18 (Dify's and most desktop clients' today) handshake first; the server keeps no
    session for them (no Mcp-Session-Id), so any worker or replica can answer each request."""
    headers = {"Accept": "application/json, text/event-stream", "MCP-Protocol-Version": "2025-06-18"}

    def rpc(method: str, params: dict | None = None, id_: int | None = 1) -> httpx.Response:
        body = {"jsonrpc": "2.0", "method": method, **({"params": params} if params is not None else {}),
                **({"id": id_} if id_ is not None else {})}
        return httpx.post(app_server + "/mcp", json=body, headers=headers, timeout=60)

    def result(response: httpx.Response) -> dict:
        assert response.status_code == 200, response.text
        (_, data), = [e for e in parse_sse(response.text) if e[1]]
        return json.loads(data)["result"]

    init = rpc("initialize", {"protocolVersion": "2025-06-18", "capabilities": {},
                              "clientInfo": {"name": "legacy-client", "version": "1"}})
    assert result(init)["protocolVersion"] == "2025-06-18" and "mcp-session-id" not in init.headers
    assert rpc("notifications/initialized", id_=None).status_code == 202
    assert {t["name"] for t in result(rpc("tools/list", id_=2))["tools"]} == TOOLS
    called = result(rpc("tools/call", {"name": "ask", "arguments": {"question": HTE_Q}}, id_=3))
    assert called["isError"] is False
    assert called["structuredContent"] == v1(http, "/v1/ask", {"question": HTE_Q})


def test_tool_calls_share_the_v1_rate_limit(built_settings, assistant):
    """Each tools/call takes a token from the caller's bucket, the one its /v1 requests use; listing tools does not."""
    from api.app import create_app

    settings = built_settings.model_copy(update={"rate_limit_per_minute": 1, "rate_limit_burst": 3})
    with ThreadedServer(create_app(settings, assistant=assistant, ui=False)) as url:
        calls = [("list_documents", {})] * 4
        from mcp import Client

        async def session():
            async with Client(url + "/mcp") as client:
                for _ in range(3):
                    await client.list_tools()  # free
                return [await client.call_tool(name, args) for name, args in calls]

        results = asyncio.run(session())
        assert [r.is_error for r in results] == [False, False, False, True]
        text = error_text(results[3])
        assert "rate limit" in text and "PA_RATE_LIMIT_PER_MINUTE" in text and "retry in" in text
        r = httpx.get(url + "/v1/documents")  # the same client's bucket is empty for /v1 too
        assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1


def test_body_over_the_limit_is_refused(app_server, built_settings):
    big = {"jsonrpc": "2.0", "id": 1, "method": "tools/call",
           "params": {"name": "ask", "arguments": {"question": "高" * built_settings.max_body_bytes}}}
    r = httpx.post(app_server + "/mcp", json=big, headers={"Accept": "application/json, text/event-stream"})
    assert r.status_code == 413, r.text
