"""Third hardening round, also observed: `GET /mcp` with `Accept: text/event-stream` held a stream open and
took no rate-limit token, so one client could hold any number of connections and tasks.

Now each such stream takes a token from the client's bucket, a client holds at most 2 and all clients
together at most PA_MCP_MAX_STREAMS (429 naming the limit), and a stream idle for
PA_MCP_STREAM_IDLE_SECONDS is closed by the server. Real uvicorn, real HTTP clients; the library is one
INVENTED 测试市 document.
"""
from __future__ import annotations

import time
from contextlib import ExitStack

import httpx
import pytest
from docfixtures import voucher_library
from helpers import ThreadedServer

pytestmark = [pytest.mark.slow]
STREAM = {"accept": "text/event-stream"}


@pytest.fixture(scope="module")
def url(tmp_path_factory):
    from api.app import create_app
    from assistant.core import Assistant

    settings = voucher_library(tmp_path_factory.mktemp("r3-mcp"), trust_forwarded=True, mcp_max_streams=3,
                               mcp_stream_idle_seconds=2, rate_limit_per_minute=1, rate_limit_burst=3)
    app = create_app(settings, assistant=Assistant.from_settings(settings, build=False), ui=False)
    with ThreadedServer(app) as served:
        yield served


def open_stream(stack: ExitStack, url: str, ip: str) -> httpx.Response:
    http = stack.enter_context(httpx.Client(base_url=url, timeout=20, headers={"X-Forwarded-For": ip, **STREAM}))
    return stack.enter_context(http.stream("GET", "/mcp"))


def read_until_closed(r: httpx.Response, within: float = 20) -> bytes:
    """The stream's bytes until the server closes it; fails when it is still open after `within` seconds
    (httpx's read timeout covers a silent one, the clock one that keeps sending)."""
    t0, out = time.monotonic(), b""
    for chunk in r.iter_bytes():
        out += chunk
        if time.monotonic() - t0 > within:
            pytest.fail(f"the stream is still open after {within} s")
    return out


def test_streams_are_bounded_per_client_and_in_all(url):
    with ExitStack() as stack:
        first = [open_stream(stack, url, "203.0.113.1") for _ in range(2)]
        assert [r.status_code for r in first] == [200, 200]
        third = open_stream(stack, url, "203.0.113.1")
        assert third.status_code == 429, third.status_code
        assert "at most 2 per client" in third.read().decode()
        assert open_stream(stack, url, "203.0.113.2").status_code == 200  # 3 open in all
        over = open_stream(stack, url, "203.0.113.3")
        assert over.status_code == 429 and "PA_MCP_MAX_STREAMS" in over.read().decode()
        assert int(over.headers["retry-after"]) >= 1


def test_an_idle_stream_is_closed_by_the_server(url):
    time.sleep(3)  # the previous test's streams are gone
    with ExitStack() as stack:
        r = open_stream(stack, url, "203.0.113.4")
        assert r.status_code == 200
        read_until_closed(r)


def test_each_stream_takes_a_rate_limit_token(url):
    codes = []
    for _ in range(4):  # burst 3, 1 per minute
        with ExitStack() as stack:
            r = open_stream(stack, url, "203.0.113.5")
            codes.append(r.status_code)
            body = read_until_closed(r).decode()  # a 200 stream: until the server closes it, idle
    assert codes == [200, 200, 200, 429], codes
    assert "Retry" in body or "retry" in body or "per minute" in body, body
