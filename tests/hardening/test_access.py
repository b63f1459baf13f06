"""Access hardening, through the real app (FastAPI TestClient on the session's real index, no mocks).

* admin endpoints: every route guarded by `require_admin` answers 403 with no PA_ADMIN_TOKEN and 401 with a
  missing or wrong token, and a fixed list of routes MUST be guarded (a route losing its guard fails here);
* per-client rate limit on the public endpoints (429 + Retry-After), separate buckets per client;
* CORS off by default, on for the configured origins only;
* body / field limits (413, 422 naming the field and the allowed range);
* the feedback export (GET /v1/feedback, admin);
* the Gradio UI at /ui serves no arbitrary files and caps uploads.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from fastapi import routing as fastapi_routing
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from api.app import create_app
from api.auth import require_admin
from api.ratelimit import TokenBuckets, limited
from assistant.records.feedback import record_feedback
from assistant.settings import Settings

TOKEN = "right-token-7f3a"
QUESTION = "到2025年长沙市高新技术企业数量目标是多少？"
# (method, path template with {} for parameters): these MUST need the admin token
MUST_BE_ADMIN = {
    ("POST", "/v1/documents"),
    ("DELETE", "/v1/documents/{}"),
    ("POST", "/v1/evals"),
    ("GET", "/v1/evals/{}"),
    ("GET", "/v1/evals/{}/report"),
    ("GET", "/v1/feedback"),
    ("GET", "/v1/admin/questions"),
    ("POST", "/v1/admin/curated"),
    ("GET", "/v1/admin/curated"),
    ("GET", "/v1/admin/curated/{}"),
    ("PUT", "/v1/admin/curated/{}"),
    ("DELETE", "/v1/admin/curated/{}"),
    ("POST", "/v1/admin/curated/{}/eval-item"),
    ("GET", "/v1/eval-sets"),
    ("POST", "/v1/eval-sets/{}/runs"),
    ("GET", "/v1/profiles"),
}
PUBLIC_LIMITED = [("POST", "/v1/ask"), ("POST", "/v1/ask/stream"), ("POST", "/v1/search"),
                  ("POST", "/v1/chat/completions"), ("POST", "/v1/eligibility"), ("GET", "/v1/passages/x:1"),
                  ("GET", "/v1/documents"), ("GET", "/v1/documents/x/view"), ("GET", "/v1/documents/x/pages/1"),
                  ("GET", "/v1/documents/x/diff"), ("POST", "/dify/retrieval"),
                  ("GET", "/v1/calendar.ics"), ("POST", "/v1/profiles"), ("GET", "/v1/profiles/x/feed.atom")]

# saved profiles (a token each, guessable by brute force were they not limited)
PROFILE_ROUTES = {("GET", "/v1/profiles"), ("POST", "/v1/profiles"), ("GET", "/v1/profiles/{pid}"),
                  ("PUT", "/v1/profiles/{pid}"), ("DELETE", "/v1/profiles/{pid}"),
                  ("POST", "/v1/profiles/{pid}/rotate-secret"), ("GET", "/v1/profiles/{pid}/measures"),
                  ("POST", "/v1/profiles/{pid}/measures/read"), ("GET", "/v1/profiles/{pid}/deliveries"),
                  ("GET", "/v1/profiles/{pid}/feed.atom"), ("GET", "/v1/profiles/{pid}/calendar.ics")}


def settings_for(base: Settings, **extra) -> Settings:
    """The session's settings with some fields changed (validated like the environment would be)."""
    return Settings(**{**base.model_dump(), **extra})


def template(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "{}", path)


def guards(dependant) -> bool:
    """Whether `require_admin` is anywhere in a route's dependency tree."""
    return any(d.call is require_admin or guards(d) for d in dependant.dependencies)


def api_routes(app) -> list[tuple[str, str, object]]:
    """(method, full path, dependant) of every API route. Recent FastAPI keeps included routers wrapped
    (app.routes holds them unflattened): `iter_route_contexts` yields each route as served, prefix included."""
    if hasattr(fastapi_routing, "iter_route_contexts"):
        routes = [(rc.path, rc.methods, getattr(rc, "dependant", None))
                  for rc in fastapi_routing.iter_route_contexts(app.routes)]
    else:  # older FastAPI: a flat list of APIRoute
        routes = [(r.path, r.methods, r.dependant) for r in app.routes if isinstance(r, APIRoute)]
    return [(method, path, dependant) for path, methods, dependant in routes if dependant is not None
            for method in sorted(set(methods or ()) - {"HEAD"})]


def admin_routes(app) -> set[tuple[str, str]]:
    return {(method, path) for method, path, dependant in api_routes(app) if guards(dependant)}


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "x", path)


# ---------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def ui_client(built_settings, assistant, tmp_path_factory):
    """The full app (Gradio UI included, built once) with NO admin token, a private data directory."""
    data = tmp_path_factory.mktemp("access-ui") / "data"
    app = create_app(settings_for(built_settings, admin_token=None, data_dir=data, rate_limit_per_minute=0),
                     assistant=assistant, ui=True)
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


@pytest.fixture(scope="module")
def admin_client(built_settings, assistant, tmp_path_factory):
    """API only, admin token configured, a private data directory (feedback file)."""
    data = tmp_path_factory.mktemp("access-admin") / "data"
    app = create_app(settings_for(built_settings, admin_token=TOKEN, data_dir=data, rate_limit_per_minute=0),
                     assistant=assistant, ui=False)
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


def limited_client(built_settings, assistant, per_minute: int, burst: int, client=("203.0.113.7", 40000),
                   **extra) -> TestClient:
    app = create_app(settings_for(built_settings, rate_limit_per_minute=per_minute, rate_limit_burst=burst, **extra),
                     assistant=assistant, ui=False)
    return TestClient(app, raise_server_exceptions=False, client=client)


# ---------------------------------------------------------------------------- admin guard
def test_required_admin_routes_are_guarded(ui_client, admin_client):
    """Introspection: every route in MUST_BE_ADMIN has require_admin in its dependency tree."""
    for client in (ui_client, admin_client):
        assert len(api_routes(client.app)) >= 15  # the enumeration sees the API
        guarded = {(m, template(p)) for m, p in admin_routes(client.app)}
        missing = MUST_BE_ADMIN - guarded
        assert not missing, f"admin routes without require_admin: {sorted(missing)}"
        # and nothing public was guarded by mistake (the public API stays open)
        assert not guarded & {("POST", "/v1/ask"), ("GET", "/v1/documents"), ("POST", "/v1/search")}


def test_guarded_routes_403_without_configured_token(ui_client):
    routes = admin_routes(ui_client.app) | {(m, p.replace("{}", "{x}")) for m, p in MUST_BE_ADMIN}
    assert len(routes) >= len(MUST_BE_ADMIN)
    for method, path in sorted(routes):
        for headers in ({}, {"Authorization": f"Bearer {TOKEN}"}):  # disabled means disabled, whatever is sent
            r = ui_client.request(method, concrete(path), headers=headers)
            assert r.status_code == 403, (method, path, r.status_code, r.text)
            assert "PA_ADMIN_TOKEN" in r.json()["detail"]


@pytest.mark.parametrize("auth", [None, "Bearer wrong-token", f"Bearer {TOKEN}x", f"Basic {TOKEN}", "Bearer ",
                                  f"{TOKEN}"])
def test_guarded_routes_401_with_missing_or_wrong_token(admin_client, auth):
    routes = admin_routes(admin_client.app) | {(m, p.replace("{}", "{x}")) for m, p in MUST_BE_ADMIN}
    headers = {"Authorization": auth} if auth is not None else {}
    for method, path in sorted(routes):
        r = admin_client.request(method, concrete(path), headers=headers)
        assert r.status_code == 401, (method, path, auth, r.status_code, r.text)
        assert r.headers.get("www-authenticate") == "Bearer"


def test_right_token_passes_the_guard(admin_client):
    """The same requests with the right token get past auth (404 / 422 from the route itself, not 401/403)."""
    auth = {"Authorization": f"Bearer {TOKEN}"}
    assert admin_client.get("/v1/evals/nope", headers=auth).status_code == 404
    assert admin_client.get("/v1/evals/nope/report", headers=auth).status_code == 404
    assert admin_client.delete("/v1/documents/nope", headers=auth).status_code not in {401, 403}
    assert admin_client.post("/v1/documents", headers=auth).status_code == 422  # no file
    assert admin_client.get("/v1/feedback", headers=auth).status_code == 200


# ---------------------------------------------------------------------------- feedback export
def test_feedback_export_json_and_jsonl(admin_client):
    auth = {"Authorization": f"Bearer {TOKEN}"}
    records = admin_client.app.state.records  # the records database (private: SQLite in the data directory)
    assert admin_client.get("/v1/feedback", headers=auth).json() == []
    empty = admin_client.get("/v1/feedback", params={"format": "jsonl"}, headers=auth)
    assert empty.status_code == 200 and empty.content == b""

    answer = {"answer": "2025年目标 6000[1]", "answerable": True, "mode": "extractive",
              "citations": [{"n": 1, "passage_id": "p:1", "doc_title": "规划", "section": "二、"}]}
    record_feedback(records, question=QUESTION, answer=answer, vote="up", comment="准确")
    record_feedback(records, question="长沙的房价？", answer={"answer": "未找到", "answerable": False}, vote="down")

    r = admin_client.get("/v1/feedback", headers=auth)
    assert r.status_code == 200, r.text
    entries = r.json()
    assert [e["vote"] for e in entries] == ["up", "down"]
    assert entries[0]["question"] == QUESTION and entries[0]["comment"] == "准确"
    assert entries[0]["citations"][0]["passage_id"] == "p:1"

    dl = admin_client.get("/v1/feedback", params={"format": "jsonl"}, headers=auth)
    assert dl.status_code == 200
    assert dl.headers["content-type"].startswith("application/x-ndjson")
    assert "attachment" in dl.headers["content-disposition"] and "feedback.jsonl" in dl.headers["content-disposition"]
    assert [json.loads(line) for line in dl.text.splitlines()] == entries  # one JSON object a line

    assert admin_client.get("/v1/feedback", params={"format": "csv"}, headers=auth).status_code == 422


# ---------------------------------------------------------------------------- rate limit
def test_burst_then_429_with_retry_after(built_settings, assistant):
    # 6 per minute = one token per 10 s, bucket of 3
    with limited_client(built_settings, assistant, per_minute=6, burst=3) as c:
        for _ in range(3):
            assert c.get("/v1/documents").status_code == 200
        r = c.get("/v1/documents")
        assert r.status_code == 429, r.text
        assert r.headers["retry-after"].isdigit() and 8 <= int(r.headers["retry-after"]) <= 10
        detail = r.json()["detail"]
        assert "6 requests per minute" in detail and "PA_RATE_LIMIT_PER_MINUTE" in detail
        assert "PA_RATE_LIMIT_BURST" in detail
        # the bucket is per client, not per endpoint: the other public endpoints are refused too
        assert c.post("/v1/ask", json={"question": QUESTION}).status_code == 429
        assert c.post("/v1/search", json={"query": "高新技术企业"}).status_code == 429
        # health, readiness, metrics, docs are never limited
        for path in ("/healthz", "/readyz", "/metrics", "/openapi.json"):
            for _ in range(5):
                assert c.get(path).status_code == 200, path
        # the 429s are counted in the metrics like any response
        assert 'status="429"' in c.get("/metrics").text


@pytest.mark.parametrize("method,path", PUBLIC_LIMITED)
def test_every_public_endpoint_is_limited(built_settings, assistant, method, path):
    with limited_client(built_settings, assistant, per_minute=1, burst=1) as c:
        c.request(method, path, json={})  # the one allowed (whatever its answer)
        r = c.request(method, path, json={})
        assert r.status_code == 429, (method, path, r.status_code)
        assert int(r.headers["retry-after"]) >= 1


def test_openapi_documents_the_429(ui_client):
    paths = ui_client.get("/openapi.json").json()["paths"]
    documented = {(m.upper(), p) for p, item in paths.items() for m, op in item.items() if "429" in op["responses"]}
    assert documented == {("POST", "/v1/ask"), ("POST", "/v1/ask/stream"), ("POST", "/v1/search"),
                          ("POST", "/v1/chat/completions"), ("POST", "/v1/eligibility"),
                          ("GET", "/v1/passages/{passage_id}"), ("GET", "/v1/documents"),
                          ("GET", "/v1/documents/{doc_id}/view"), ("GET", "/v1/documents/{doc_id}/pages/{page}"),
                          ("GET", "/v1/documents/{doc_id}/diff"), ("POST", "/dify/retrieval"),
                          ("GET", "/v1/calendar.ics"), *PROFILE_ROUTES}
    assert "Retry-After" in paths["/v1/ask"]["post"]["responses"]["429"]["headers"]


def test_admin_writes_and_preflights_are_not_limited():
    """Document upload / removal are admin (token-guarded), not counted; CORS preflights never are."""
    assert limited("GET", "/v1/documents") and limited("GET", "/v1/documents/")
    assert not limited("POST", "/v1/documents") and not limited("DELETE", "/v1/documents/x")
    assert not limited("OPTIONS", "/v1/ask")
    assert not limited("GET", "/healthz") and not limited("GET", "/ui/") and not limited("POST", "/ui/gradio_api/upload")
    assert limited("POST", "/v1/ask/") and limited("POST", "/v1/ask/stream") and limited("GET", "/v1/passages/a:b")


def test_clients_have_separate_buckets(built_settings, assistant):
    app = create_app(settings_for(built_settings, rate_limit_per_minute=6, rate_limit_burst=2), assistant=assistant,
                     ui=False)
    with TestClient(app, client=("198.51.100.1", 1)) as a, TestClient(app, client=("198.51.100.2", 2)) as b:
        assert [a.get("/v1/documents").status_code for _ in range(3)] == [200, 200, 429]
        assert [b.get("/v1/documents").status_code for _ in range(3)] == [200, 200, 429]  # b was not affected by a
        # X-Forwarded-For is NOT trusted by default: a client cannot pick a fresh bucket with it
        assert a.get("/v1/documents", headers={"X-Forwarded-For": "192.0.2.99"}).status_code == 429


def test_forwarded_for_first_hop_when_trusted(built_settings, assistant):
    app = create_app(settings_for(built_settings, rate_limit_per_minute=6, rate_limit_burst=1, trust_forwarded=True),
                     assistant=assistant, ui=False)
    with TestClient(app, client=("127.0.0.1", 1)) as proxy:  # every request comes through one proxy
        first = {"X-Forwarded-For": "192.0.2.1, 10.0.0.1"}
        second = {"X-Forwarded-For": "192.0.2.2, 10.0.0.1"}
        assert proxy.get("/v1/documents", headers=first).status_code == 200
        assert proxy.get("/v1/documents", headers=first).status_code == 429
        assert proxy.get("/v1/documents", headers=second).status_code == 200  # another client behind the proxy
        # same first hop, different later hops: same client
        assert proxy.get("/v1/documents", headers={"X-Forwarded-For": "192.0.2.2, 10.9.9.9"}).status_code == 429


def test_limit_off_with_zero(built_settings, assistant):
    with limited_client(built_settings, assistant, per_minute=0, burst=1) as c:
        assert all(c.get("/v1/documents").status_code == 200 for _ in range(40))


def test_token_bucket_refills_and_is_bounded():
    now = [1000.0]
    buckets = TokenBuckets(per_minute=60, burst=2, max_clients=3, clock=lambda: now[0])
    assert [buckets.take("a") for _ in range(2)] == [0.0, 0.0]
    assert buckets.take("a") == pytest.approx(1.0)  # one token per second; empty bucket
    now[0] += 0.5
    assert buckets.take("a") == pytest.approx(0.5)  # refused requests do not push the wait further
    now[0] += 0.5
    assert buckets.take("a") == 0.0  # refilled
    now[0] += 3600
    assert buckets.take("a") == 0.0 and buckets.take("a") == 0.0 and buckets.take("a") > 0  # never above the burst
    for i in range(1000):  # many clients: memory stays bounded, the least recently seen go first
        buckets.take(f"client-{i}")
    assert len(buckets) == 3 and "client-999" in buckets.buckets and "a" not in buckets.buckets


# ---------------------------------------------------------------------------- CORS
PREFLIGHT = {"Origin": "https://chat.example", "Access-Control-Request-Method": "POST",
             "Access-Control-Request-Headers": "content-type, authorization"}


def test_cors_off_by_default(ui_client):
    r = ui_client.options("/v1/ask", headers=PREFLIGHT)
    assert "access-control-allow-origin" not in r.headers
    assert r.status_code != 200
    r = ui_client.get("/v1/documents", headers={"Origin": "https://chat.example"})
    assert r.status_code == 200 and "access-control-allow-origin" not in r.headers


def test_cors_for_configured_origins_only(built_settings, assistant):
    app = create_app(settings_for(built_settings, cors_origins=["https://chat.example", "https://b.example"],
                                  rate_limit_per_minute=60, rate_limit_burst=2),
                     assistant=assistant, ui=False)
    with TestClient(app, raise_server_exceptions=False) as c:
        r = c.options("/v1/ask", headers=PREFLIGHT)
        assert r.status_code == 200, r.text
        assert r.headers["access-control-allow-origin"] == "https://chat.example"
        assert "POST" in r.headers["access-control-allow-methods"]
        assert "authorization" in r.headers["access-control-allow-headers"].lower()
        assert "access-control-allow-credentials" not in r.headers
        # preflights do not spend the rate limit
        for _ in range(5):
            assert c.options("/v1/ask", headers=PREFLIGHT).status_code == 200

        r = c.get("/v1/documents", headers={"Origin": "https://chat.example"})
        assert r.headers["access-control-allow-origin"] == "https://chat.example"
        c.get("/v1/documents", headers={"Origin": "https://chat.example"})
        limited_r = c.get("/v1/documents", headers={"Origin": "https://chat.example"})
        assert limited_r.status_code == 429  # and a browser can read why, and when to retry
        assert limited_r.headers["access-control-allow-origin"] == "https://chat.example"
        assert "retry-after" in limited_r.headers["access-control-expose-headers"].lower()

        evil = c.options("/v1/ask", headers={**PREFLIGHT, "Origin": "https://evil.example"})
        assert evil.status_code == 400 and "access-control-allow-origin" not in evil.headers
        evil_get = c.get("/healthz", headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in evil_get.headers


def test_cors_origins_from_environment(monkeypatch):
    monkeypatch.setenv("PA_CORS_ORIGINS", "https://a.example, https://b.example")
    assert Settings().cors_origins == ["https://a.example", "https://b.example"]
    monkeypatch.setenv("PA_CORS_ORIGINS", '["https://a.example"]')
    assert Settings().cors_origins == ["https://a.example"]
    monkeypatch.setenv("PA_CORS_ORIGINS", "")
    assert Settings().cors_origins == []


# ---------------------------------------------------------------------------- body and field limits
def _field_error(r, field: str) -> str:
    assert r.status_code == 422, r.text
    [err] = [e for e in r.json()["detail"] if field in e["loc"]]
    return err["msg"]


def test_body_over_limit_413(ui_client, built_settings):
    big = json.dumps({"question": "长" * (built_settings.max_body_bytes // 2)})
    r = ui_client.post("/v1/ask", content=big, headers={"content-type": "application/json"})
    assert r.status_code == 413 and "PA_MAX_BODY_BYTES" in r.json()["detail"]

    def chunked():  # no Content-Length: counted while read
        for _ in range(built_settings.max_body_bytes // 1024 + 2):
            yield b" " * 1024

    r = ui_client.post("/v1/search", content=chunked(), headers={"content-type": "application/json"})
    assert r.status_code == 413


def test_question_too_long_422(ui_client, built_settings):
    n = built_settings.max_question_chars
    msg = _field_error(ui_client.post("/v1/ask", json={"question": "长" * (n + 1)}), "question")
    assert str(n) in msg and "PA_MAX_QUESTION_CHARS" in msg
    msg = _field_error(ui_client.post("/v1/search", json={"query": "长" * (n + 1)}), "query")
    assert str(n) in msg
    msg = _field_error(ui_client.post("/v1/chat/completions",
                                      json={"messages": [{"role": "user", "content": "长" * (n + 1)}]}), "messages")
    assert str(n) in msg


@pytest.mark.parametrize("path,body", [("/v1/ask", {"question": QUESTION}), ("/v1/ask/stream", {"question": QUESTION}),
                                       ("/v1/search", {"query": "高新技术企业"})])
def test_top_k_bounds_422(ui_client, path, body):
    for bad in (51, 0, -1, 10_000):
        msg = _field_error(ui_client.post(path, json={**body, "top_k": bad}), "top_k")
        assert ("50" in msg) if bad > 50 else ("1" in msg), msg
    assert ui_client.post("/v1/search", json={"query": "高新技术企业", "top_k": 50}).status_code == 200


def test_history_and_messages_too_long_422(ui_client):
    turn = [{"role": "user", "content": "问"}, {"role": "assistant", "content": "答"}]
    msg = _field_error(ui_client.post("/v1/ask", json={"question": QUESTION, "history": turn * 101}), "history")
    assert "200" in msg
    msg = _field_error(ui_client.post("/v1/chat/completions",
                                      json={"messages": turn * 100 + [{"role": "user", "content": QUESTION}]}),
                       "messages")
    assert "200" in msg
    # at the bound: accepted (the service then uses the last PA_MAX_HISTORY_MESSAGES turns)
    assert ui_client.post("/v1/ask", json={"question": QUESTION, "history": turn * 100}).status_code == 200


# ---------------------------------------------------------------------------- the Gradio UI
def test_ui_serves_no_arbitrary_files(ui_client, repo_root: Path):
    assert ui_client.get("/ui/").status_code == 200  # the UI itself is there
    record_feedback(ui_client.app.state.records, question="SECRET-FEEDBACK-MARKER", answer={}, vote="down")
    records_file = Path(ui_client.app.state.records.config.url.removeprefix("sqlite:///"))  # private data on disk
    targets = ["/etc/passwd", str(repo_root / "pyproject.toml"), "pyproject.toml", str(records_file)]
    attempts = []
    for target in targets:
        attempts += [f"/ui/gradio_api/file={target}", f"/ui/file={target}",
                     "/ui/gradio_api/file=" + target.replace("/", "%2F")]
    attempts += ["/ui/gradio_api/file=../../pyproject.toml", "/ui/gradio_api/file=..%2F..%2Fpyproject.toml",
                 "/ui/gradio_api/file=%2E%2E/%2E%2E/pyproject.toml", "/ui/file=../../pyproject.toml",
                 "/ui/static/%2E%2E/%2E%2E/%2E%2E/pyproject.toml", "/ui/assets/%2E%2E/%2E%2E/pyproject.toml",
                 "/ui/gradio_api/file=" + str(Path(json.__file__))]
    for path in attempts:
        r = ui_client.get(path)
        assert r.status_code != 200, (path, r.status_code, r.text[:200])
        leaked = [m for m in ("root:", "[build-system]", "SECRET-FEEDBACK-MARKER") if m in r.text]
        assert not leaked, (path, leaked)


def test_ui_upload_capped(ui_client):
    over = b"x" * (5 * 1024 * 1024 + 1)
    r = ui_client.post("/ui/gradio_api/upload", files={"files": ("big.txt", over, "text/plain")})
    assert r.status_code == 413, (r.status_code, r.text[:200])
    ok = ui_client.post("/ui/gradio_api/upload", files={"files": ("small.txt", b"hello", "text/plain")})
    assert ok.status_code == 200  # the endpoint works: the refusal above is the size cap
