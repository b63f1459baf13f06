"""Bounded work per request (OWASP LLM10, unbounded consumption): what one request may cost is a setting,
checked, with a clear error naming it when exceeded.

    PA_MAX_REQUEST_CPU_SECONDS   CPU the request's own thread may use (checked between pipeline steps and
                                 between streamed events): 422 `budget_exceeded`, or a stream's `error` event
    PA_MAX_RESPONSE_BYTES        the largest /v1 response body: 422 `budget_exceeded` before anything is
                                 sent, or a stream cut with an `error` event

Per document the bounds are finding 2's (test_r2_bounds.py): PA_MAX_UPLOAD_BYTES, PA_MAX_DOCUMENT_CHARS,
PA_MAX_DOCUMENT_PASSAGES, PA_MAX_PASSAGE_CHARS, PA_MAX_META_CHARS, PA_PDF_TIMEOUT_SECONDS. Real app and
index (in-process, the session's index, read only). No timing is asserted: a limit is set so low that
the request must exceed it, or so high that it cannot.
"""
from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from helpers import test_settings as settings_with

from api.app import create_app

Q = "大科城的建设目标是什么？"
SMALL = 16 * 1024  # the lowest PA_MAX_RESPONSE_BYTES allowed


@pytest.fixture(scope="module")
def api(assistant, built_settings):
    settings = settings_with(data_dir=built_settings.data_dir, corpus_dir=built_settings.corpus_dir,
                             max_response_bytes=SMALL, rate_limit_per_minute=0)
    app = create_app(settings, assistant=assistant, ui=False)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client, assistant


@pytest.fixture
def tiny_cpu_budget(api):
    """The assistant's settings with a CPU budget no request can stay under (restored afterwards)."""
    _, assistant = api
    kept = assistant.settings
    assistant.settings = kept.model_copy(update={"max_request_cpu_seconds": 1e-6})
    yield
    assistant.settings = kept


def budget_error(r, setting: str) -> str:
    assert r.status_code == 422, (r.status_code, r.text[:300])
    (err,) = r.json()["detail"]
    assert err["type"] == "budget_exceeded" and setting in err["msg"], err
    return err["msg"]


def sse(text: str) -> list[tuple[str, dict]]:
    out = []
    for block in text.strip().split("\n\n"):
        lines = block.split("\n")
        name = next((x[7:] for x in lines if x.startswith("event: ")), "")
        data = "\n".join(x[6:] for x in lines if x.startswith("data: "))
        out.append((name, json.loads(data) if data.startswith("{") else data))
    return out


def test_a_response_over_the_limit_is_refused_naming_the_setting(api):
    client, _ = api
    small = client.post("/v1/search", json={"query": Q, "top_k": 3})
    assert small.status_code == 200 and len(small.content) <= SMALL and small.json()["hits"]
    big = client.post("/v1/search", json={"query": Q, "top_k": 50})
    assert "top_k" in budget_error(big, "PA_MAX_RESPONSE_BYTES")
    assert len(big.content) < 1000
    budget_error(client.post("/v1/ask", json={"question": Q, "top_k": 50}), "PA_MAX_RESPONSE_BYTES")


def test_a_stream_over_the_limit_is_cut_with_an_error_event(api):
    client, _ = api
    r = client.post("/v1/ask/stream", json={"question": Q, "top_k": 50})
    assert r.status_code == 200
    assert len(r.content) <= SMALL + 1000
    events = sse(r.text)
    assert events[-1][0] == "error" and "PA_MAX_RESPONSE_BYTES" in events[-1][1]["detail"], events[-1]
    assert "answer" not in [name for name, _ in events]
    ok = sse(client.post("/v1/ask/stream", json={"question": Q, "top_k": 2}).text)
    assert ok[-1][0] == "answer" and ok[-1][1]["answer"]


@pytest.mark.parametrize("path,body", [
    ("/v1/ask", {"question": Q}),
    ("/v1/search", {"query": Q}),
    ("/v1/chat/completions", {"messages": [{"role": "user", "content": Q}]}),
])
def test_a_request_over_its_cpu_budget_is_a_422_naming_the_setting(api, tiny_cpu_budget, path, body):
    client, _ = api
    msg = budget_error(client.post(path, json=body), "PA_MAX_REQUEST_CPU_SECONDS")
    assert "CPU seconds" in msg


def test_a_stream_over_its_cpu_budget_ends_with_an_error_naming_the_setting(api, tiny_cpu_budget):
    client, _ = api
    r = client.post("/v1/ask/stream", json={"question": Q})
    if r.status_code == 422:  # spent before the stream began (the usual case)
        budget_error(r, "PA_MAX_REQUEST_CPU_SECONDS")
    else:
        assert sse(r.text)[-1][0] == "error" and "PA_MAX_REQUEST_CPU_SECONDS" in r.text


def test_the_budget_counts_the_requests_own_work_across_stream_steps(assistant):
    """The same question is answered within a generous budget, streamed too (each step charged)."""
    from assistant.budget import Budget
    from assistant.errors import BudgetExceeded

    budget = Budget(3600)
    events = list(budget.metered(iter(assistant.ask_stream(Q))))
    assert events[-1].type == "answer" and budget.spent > 0
    spent = Budget(1e-9)
    with pytest.raises(BudgetExceeded, match="PA_MAX_REQUEST_CPU_SECONDS"):
        list(spent.metered(iter(assistant.ask_stream(Q))))
