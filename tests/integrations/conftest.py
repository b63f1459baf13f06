"""Fixtures of the integration tests: the app as `serve` builds it, served by a real uvicorn over loopback on the
session's index, with a Dify key; an MCP client over streamable HTTP; /v1 answers to compare with."""
from __future__ import annotations

import httpx
import pytest
from helpers import ThreadedServer

DIFY_KEY = "dify-test-key-3f9a"


@pytest.fixture(scope="session")
def app_server(built_settings, assistant):
    """create_app (API, /mcp, /dify) with PA_DIFY_API_KEY set and no rate limit, under uvicorn in a thread."""
    from api.app import create_app

    settings = built_settings.model_copy(update={"dify_api_key": DIFY_KEY, "index_poll_seconds": 0})
    with ThreadedServer(create_app(settings, assistant=assistant, ui=False)) as url:
        yield url


@pytest.fixture(scope="session")
def http(app_server):
    with httpx.Client(base_url=app_server, timeout=60) as c:
        yield c


@pytest.fixture(scope="session")
def dify_auth() -> dict[str, str]:
    return {"Authorization": f"Bearer {DIFY_KEY}"}
