"""The real service (`python -m assistant serve`, uvicorn) over real HTTP, on the session's index."""
from __future__ import annotations

import json
import re
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

HTE_Q = "到2025年高新技术企业数量目标是多少？"
REFUSED_Q = "上海市浦东新区的人才公寓补贴是多少？"


@pytest.fixture(scope="module")
def http(live_server):
    with httpx.Client(base_url=live_server, timeout=60) as c:
        yield c


def iter_sse(resp: httpx.Response):
    """Parse Server-Sent Events as they arrive: yields (event name or None, data)."""
    name, data = None, []
    for line in resp.iter_lines():
        if line == "":
            if data or name:
                yield name, "\n".join(data)
            name, data = None, []
        elif line.startswith("event:"):
            name = line[len("event:"):].strip()
        elif line.startswith("data:"):
            data.append(line[len("data:"):].removeprefix(" "))
    if data or name:
        yield name, "\n".join(data)


def _metric(text: str, name: str, **labels: str) -> float | None:
    for line in text.splitlines():
        m = re.fullmatch(re.escape(name) + r"(?:\{(.*)\})? (\S+)", line)
        if m and dict(re.findall(r'(\w+)="([^"]*)"', m.group(1) or "")) == labels:
            return float(m.group(2))
    return None


def test_ready_and_healthy(http, assistant):
    assert http.get("/healthz").json() == {"status": "ok"}
    body = http.get("/readyz").json()
    assert body["status"] == "ready"
    assert body["passages"] == assistant.info.passages
    assert body["collection"] == assistant.info.collection  # the server serves the session's index


def test_ask(http):
    resp = http.post("/v1/ask", json={"question": HTE_Q})
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("application/json")
    body = resp.json()
    assert body["answerable"] is True and "6000" in body["answer"]
    assert "发展目标" in body["citations"][0]["section"]
    refused = http.post("/v1/ask", json={"question": REFUSED_Q}).json()
    assert refused["answerable"] is False and refused["citations"] == []
    bad = http.post("/v1/ask", json={"question": "", "top_k": 5})
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["body", "question"]


def test_stream_is_parsed_incrementally(http):
    events = []
    with http.stream("POST", "/v1/ask/stream", json={"question": HTE_Q}) as resp:
        assert resp.status_code == 200
        assert resp.headers["content-type"].startswith("text/event-stream")
        assert resp.headers.get("x-accel-buffering") == "no"
        for name, data in iter_sse(resp):
            if not events:  # the citations come first, before any text
                assert name == "citations", name
            events.append((name, json.loads(data)))
    names = [n for n, _ in events]
    assert names[0] == "citations" and names[-1] == "answer"
    assert names.count("answer") == 1 and "error" not in names
    assert names.count("delta") >= 2
    final = events[-1][1]
    assert "".join(d["text"] for n, d in events if n == "delta") == final["answer"]
    assert events[0][1]["citations"] == final["citations"]
    assert "6000" in final["answer"]


def test_passages_and_documents(http, assistant):
    pid = http.post("/v1/ask", json={"question": HTE_Q}).json()["citations"][0]["passage_id"]
    body = http.get(f"/v1/passages/{pid}", params={"context": 1}).json()
    order = body["passage"]["order"]
    assert body["passage"]["passage_id"] == pid
    assert [p["order"] for p in body["previous"]] == [order - 1]
    assert [p["order"] for p in body["next"]] == [order + 1]
    missing = http.get("/v1/passages/nope:123456789abc")
    assert missing.status_code == 404 and "nope:123456789abc" in missing.json()["detail"]
    docs = http.get("/v1/documents").json()["documents"]
    assert sum(d["passages"] for d in docs) == http.get("/readyz").json()["passages"] == assistant.info.passages
    assert any(d.get("doc_number") == "长政办发〔2021〕30号" for d in docs)


def test_body_limit_over_http(http):
    resp = http.post("/v1/ask", content=b'{"question": "' + b"x" * 70000 + b'"}',
                     headers={"content-type": "application/json"})
    assert resp.status_code == 413
    assert "PA_MAX_BODY_BYTES" in resp.json()["detail"]


def test_concurrent_asks(http, live_server):
    def one(q: str) -> dict:
        with httpx.Client(base_url=live_server, timeout=60) as c:
            r = c.post("/v1/ask", json={"question": q})
            r.raise_for_status()
            return r.json()

    questions = [HTE_Q, REFUSED_Q] * 3
    with ThreadPoolExecutor(6) as pool:
        results = list(pool.map(one, questions))
    for q, body in zip(questions, results):
        assert body["question"] == q
        assert body["answerable"] is (q == HTE_Q)


def test_metrics(http, assistant):
    before = _metric(http.get("/metrics").text, "pa_http_requests_total",
                     route="/v1/ask", method="POST", status="200") or 0
    assert http.post("/v1/ask", json={"question": HTE_Q}).status_code == 200
    resp = http.get("/metrics")
    assert resp.status_code == 200
    text = resp.text
    assert _metric(text, "pa_http_requests_total", route="/v1/ask", method="POST", status="200") == before + 1
    assert (_metric(text, "pa_http_request_duration_seconds_count", route="/v1/ask", method="POST") or 0) >= before + 1
    assert _metric(text, "pa_index_passages") == assistant.info.passages
    assert _metric(text, "pa_ready") == 1
    assert (_metric(text, "pa_http_requests_total", route="/readyz", method="GET", status="200") or 0) >= 1


def test_root_redirects_to_the_ui(http):
    resp = http.get("/", follow_redirects=False)
    assert resp.status_code in (302, 307)
    assert resp.headers["location"] == "/ui/"
    ui = http.get("/ui/")
    assert ui.status_code == 200
    assert ui.headers["content-type"].startswith("text/html")
    assert "<html" in ui.text.lower() and "gradio" in ui.text.lower()
    assert http.get("/ui/config").status_code == 200  # the Gradio app itself answers under the mount


def test_ui_requests_are_counted_under_ui_label(http):
    assert http.get("/ui/").status_code == 200
    text = http.get("/metrics").text
    assert (_metric(text, "pa_http_requests_total", route="/ui", method="GET", status="200") or 0) >= 1
    assert _metric(text, "pa_http_requests_total", route="/", method="GET", status="200") is None


def test_docs_and_openapi(http):
    assert http.get("/docs").status_code == 200
    spec = http.get("/openapi.json").json()
    assert {"/v1/ask", "/v1/ask/stream", "/v1/chat/completions"} <= set(spec["paths"])
    assert not any(p.startswith("/ui") for p in spec["paths"])
