"""What the integrations add to a request: each MCP tool and the Dify endpoint against the /v1 call it wraps,
on one server, in one run.

    python -m evals integrations-bench [--rounds 20] [--out FILE]        # starts a server on the current index
    python -m evals integrations-bench --url http://127.0.0.1:8000 --dify-key KEY   # or measures a running one

    MCP search_policies  vs  POST /v1/search           MCP match_support   vs  POST /v1/eligibility
    MCP ask              vs  POST /v1/ask              MCP list_documents  vs  GET /v1/documents
    MCP get_passage      vs  GET /v1/passages/{id}     POST /dify/retrieval vs POST /v1/search

One client, one request at a time, the wrapper and its /v1 call alternating for the same input, so a
slower or faster moment of the machine falls on both. The MCP session (the official client over streamable
HTTP) stays open for the whole run, as an agent's does; httpx keeps its connection. A first round warms
the server and is not counted. Reported per pair: p50 and p95 of both, the p50 overhead in ms and %, and for
MCP the p50 time the client spends checking the structured result against the tool's output schema (jsonschema,
client-side: part of what an agent using the official SDK waits for, not work of this server).
"""
from __future__ import annotations

import asyncio
import statistics
import time
from typing import Any, Awaitable, Callable

import httpx

PROFILES = [
    {"entity_type": "enterprise", "qualifications": ["高新技术企业"], "industry": "生物医药", "park": "浏阳经开区"},
    {"entity_type": "enterprise", "qualifications": ["科技型中小企业"], "description": "软件企业，首次入库"},
    {"entity_type": "researcher", "talent_category": "青年人才"},
    {"entity_type": "institution", "qualifications": ["新型研发机构"]},
]
Timed = Callable[[], Awaitable[Any]]


def _stats(ms: list[float]) -> dict[str, float]:
    p95 = statistics.quantiles(ms, n=20, method="inclusive")[-1] if len(ms) > 1 else ms[0]
    return {"p50_ms": round(statistics.median(ms), 1), "p95_ms": round(p95, 1), "n": len(ms)}


async def _time(call: Timed) -> float:
    t0 = time.perf_counter()
    await call()
    return (time.perf_counter() - t0) * 1000


async def _run(url: str, questions: list[str], rounds: int, dify_key: str | None) -> dict[str, Any]:
    from mcp import Client

    async with httpx.AsyncClient(base_url=url, timeout=120) as http, Client(url + "/mcp") as mcp:
        validation = _timed_validation(mcp.session)

        async def tool(name: str, args: dict) -> Any:
            validation[0] = 0.0
            result = await mcp.call_tool(name, args)
            if result.is_error:
                raise RuntimeError(f"MCP {name} failed: {result.content[0].text}")
            return result

        async def get(path: str, **params: Any) -> Any:
            return (await http.get(path, params=params)).raise_for_status().json()

        async def post(path: str, body: dict, headers: dict | None = None) -> Any:
            return (await http.post(path, json=body, headers=headers)).raise_for_status().json()

        ids = [(await post("/v1/search", {"query": q, "top_k": 1}))["hits"][0]["passage_id"] for q in questions]
        dify = {"Authorization": f"Bearer {dify_key}"}

        def pairs(i: int) -> dict[str, tuple[Timed, Timed]]:
            q, pid, profile = questions[i % len(questions)], ids[i % len(ids)], PROFILES[i % len(PROFILES)]
            search = {"query": q, "top_k": 5}
            out: dict[str, tuple[Timed, Timed]] = {
                "search_policies": (lambda: tool("search_policies", search), lambda: post("/v1/search", search)),
                "ask": (lambda: tool("ask", {"question": q}), lambda: post("/v1/ask", {"question": q})),
                "get_passage": (lambda: tool("get_passage", {"passage_id": pid, "context": 2}),
                                lambda: get(f"/v1/passages/{pid}", context=2)),
                "match_support": (lambda: tool("match_support", {"profile": profile, "limit": 20}),
                                  lambda: post("/v1/eligibility", {"profile": profile, "limit": 20})),
                "list_documents": (lambda: tool("list_documents", {}), lambda: get("/v1/documents")),
            }
            if dify_key:
                body = {"knowledge_id": "all", "query": q, "retrieval_setting": {"top_k": 5, "score_threshold": 0.0}}
                out["dify_retrieval"] = (lambda: post("/dify/retrieval", body, dify),
                                         lambda: post("/v1/search", search))
            return out

        times: dict[str, tuple[list[float], list[float], list[float]]] = {}
        for r in range(rounds + 1):  # round 0 warms the server up and is not counted
            for i in range(len(questions)):
                for name, (wrapped, direct) in pairs(i).items():
                    if (r + i) % 2:  # alternate which goes first
                        w, d = await _time(wrapped), await _time(direct)
                    else:
                        d, w = await _time(direct), await _time(wrapped)
                    if r:
                        for series, ms in zip(times.setdefault(name, ([], [], [])), (w, d, validation[0]), strict=True):
                            series.append(ms)
    return _report(times)


def _timed_validation(session: Any) -> list[float]:
    """The official client checks every structured tool result against the tool's output schema (jsonschema,
    in the client's process). Its time per call lands in the returned holder, to be told apart from the server's."""
    holder = [0.0]
    check = session.validate_tool_result

    async def timed(name: str, result: Any) -> None:
        t0 = time.perf_counter()
        try:
            await check(name, result)
        finally:
            holder[0] += (time.perf_counter() - t0) * 1000

    session.validate_tool_result = timed
    return holder


DIRECT = {"search_policies": "POST /v1/search", "ask": "POST /v1/ask", "get_passage": "GET /v1/passages/{id}",
          "match_support": "POST /v1/eligibility", "list_documents": "GET /v1/documents",
          "dify_retrieval": "POST /v1/search"}


def _report(times: dict[str, tuple[list[float], list[float], list[float]]]) -> dict[str, Any]:
    out = {}
    for name, (wrapped, direct, validation) in times.items():
        w, d = _stats(wrapped), _stats(direct)
        extra = w["p50_ms"] - d["p50_ms"]
        out[name] = {"wrapper": "POST /dify/retrieval" if name == "dify_retrieval" else f"MCP {name}",
                     "v1": DIRECT[name], "wrapper_ms": w, "v1_ms": d, "overhead_p50_ms": round(extra, 1),
                     "overhead_p50_pct": round(100 * extra / d["p50_ms"], 1) if d["p50_ms"] else None}
        if name != "dify_retrieval":  # of the wrapper's time: the client checking the result's schema
            out[name]["client_validation_p50_ms"] = round(statistics.median(validation), 1)
    return out


def run_integrations_bench(url: str, questions: list[str], rounds: int = 20,
                           dify_key: str | None = None) -> dict[str, Any]:
    """p50/p95 of every wrapper and its /v1 call, `rounds` times over `questions` (after one warm-up round)."""
    if not questions:
        raise ValueError("no questions to send")
    return asyncio.run(_run(url, questions, rounds, dify_key))
