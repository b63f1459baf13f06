"""Server mode against the Chroma server that `.ci/run` starts (`chroma run --host 127.0.0.1 --port <free>`).

The index is built and queried through PA_CHROMA_HOST / PA_CHROMA_PORT by the real CLI and the real HTTP
service, as an operator would run them. Skipped when no server is given, unless PA_REQUIRE_CHROMA_SERVER=1.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import uuid

import httpx
import pytest

pytestmark = pytest.mark.server

HOST = os.environ.get("PA_TEST_CHROMA_HOST")
PORT = os.environ.get("PA_TEST_CHROMA_PORT")
if not (HOST and PORT):
    if os.environ.get("PA_REQUIRE_CHROMA_SERVER") == "1":
        raise RuntimeError("PA_REQUIRE_CHROMA_SERVER=1 but PA_TEST_CHROMA_HOST/PA_TEST_CHROMA_PORT are not set")
    pytest.skip("no external Chroma server (set PA_TEST_CHROMA_HOST/PORT; .ci/run starts one)", allow_module_level=True)


@pytest.fixture(scope="module")
def env(tmp_path_factory, repo_root, cli_env):
    root = tmp_path_factory.mktemp("external-chroma")
    shutil.copytree(repo_root / "corpus", root / "corpus")
    return {**cli_env, "PA_DATA_DIR": str(root / "data"), "PA_CORPUS_DIR": str(root / "corpus"),
            "PA_CHROMA_HOST": HOST, "PA_CHROMA_PORT": PORT,
            "PA_COLLECTION_PREFIX": f"ci{uuid.uuid4().hex[:8]}"}  # its own collections on a shared server


def run(env, *args, timeout=300):
    return subprocess.run([sys.executable, "-m", "assistant", *args], env=env, capture_output=True, text=True,
                          timeout=timeout)


def test_index_then_search_through_the_server(env, tmp_path):
    built = run(env, "index")
    assert built.returncode == 0, built.stderr
    assert "index built" in built.stderr
    from pathlib import Path

    assert not (Path(env["PA_DATA_DIR"]) / "chroma").exists()  # nothing of Chroma's on local disk
    found = run(env, "search", "大科城", "--k", "3", "--json")
    assert found.returncode == 0, found.stderr
    hits = json.loads(found.stdout)["hits"]
    assert any("岳麓山大学科技城" in h["text"] for h in hits)
    # a second data dir (a stateless replica) sees the same index
    replica = {**env, "PA_DATA_DIR": str(tmp_path / "replica")}
    again = run(replica, "search", "大科城", "--k", "3", "--json")
    assert [h["passage_id"] for h in json.loads(again.stdout)["hits"]] == [h["passage_id"] for h in hits]


def test_http_service_on_the_server(env, tmp_path):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    replica = {**env, "PA_DATA_DIR": str(tmp_path / "api-replica")}
    proc = subprocess.Popen([sys.executable, "-m", "assistant", "serve", "--port", str(port)], env=replica,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            try:
                if httpx.get(url + "/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        ready = httpx.get(url + "/readyz").json()
        assert ready["status"] == "ready" and ready["collection"].startswith(env["PA_COLLECTION_PREFIX"])
        ans = httpx.post(url + "/v1/ask", json={"question": "到2025年高新技术企业数量目标是多少？"}, timeout=30).json()
        assert "6000" in ans["answer"] and ans["citations"]
    finally:
        proc.terminate()
        proc.wait(15)
