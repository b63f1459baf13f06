"""Server start: the first start builds the index (progress shown, /readyz 503 until loaded); a later start
serves the existing index at once and picks up corpus changes in the background."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time

import httpx
from helpers import test_settings
import pytest

from api.app import create_app

NEW_DOC = """长沙市科技创新券管理办法（试行）

第一条 为降低科技型中小企业创新成本，设立长沙市科技创新券。
第二条 科技创新券用于购买检验检测、研发设计等科技服务，每家企业每年申领额度不超过20万元。
"""


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_first_start_builds_the_index_and_readyz_turns_200(tmp_path, repo_root, cli_env):
    """An empty data dir: the server comes up at once, /readyz says 503 (loading/building with progress),
    the build's progress bar is printed, then /readyz is 200 and questions are answered."""
    shutil.copytree(repo_root / "corpus", tmp_path / "corpus")
    env = {**cli_env, "PA_DATA_DIR": str(tmp_path / "data"), "PA_CORPUS_DIR": str(tmp_path / "corpus")}
    env.pop("PA_EMBED_CACHE_DIR", None)  # a first start as users have it: every passage embedded, with progress
    port = _free_port()
    log = tmp_path / "server.log"
    with open(log, "wb") as fh:
        proc = subprocess.Popen([sys.executable, "-m", "assistant", "serve", "--port", str(port)], env=env,
                                stdout=fh, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    seen: list[dict] = []
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            assert proc.poll() is None, log.read_text(errors="replace")
            try:
                r = httpx.get(url + "/readyz", timeout=2)
            except httpx.HTTPError:
                time.sleep(0.2)
                continue
            seen.append({"code": r.status_code, **r.json()})
            if r.status_code == 200:
                break
            assert r.status_code == 503 and r.headers.get("retry-after")
            time.sleep(0.3)
        assert seen and seen[-1]["code"] == 200, seen[-5:]
        assert any(s["code"] == 503 and s["status"] in ("loading", "building") for s in seen)
        building = [s for s in seen if s["status"] == "building"]
        assert building and all(0 <= s["progress"]["done"] <= s["progress"]["total"] for s in building)
        assert httpx.get(url + "/healthz").status_code == 200
        ans = httpx.post(url + "/v1/ask", json={"question": "到2025年高新技术企业数量目标是多少？"}, timeout=30).json()
        assert "6000" in ans["answer"] and ans["citations"]
    finally:
        proc.terminate()
        proc.wait(15)
    out = log.read_text(errors="replace")
    assert f"http://127.0.0.1:{port}/ui" in out  # the URL is printed
    assert "building the index" in out  # the progress bar


def test_serve_refuses_an_explicit_busy_port(cli_env):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        r = subprocess.run([sys.executable, "-m", "assistant", "serve", "--port", str(port)], env=cli_env,
                           capture_output=True, text=True, timeout=60)
    assert r.returncode == 2
    assert f"port {port}" in r.stderr and "already in use" in r.stderr


def test_pick_port_takes_a_free_one_when_the_default_is_busy():
    import socket

    from api.server import pick_port

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        busy = s.getsockname()[1]
        port = pick_port("127.0.0.1", busy, explicit=False)
    assert port != busy and 0 < port < 65536


@pytest.mark.slow
def test_refresh_after_ready_swaps_in_an_index_with_a_new_document(tmp_path, built_settings):
    """A start with refresh: the existing index serves at once; a document added to corpus/ since is indexed
    in the background and swapped in without a restart."""
    shutil.copytree(built_settings.corpus_dir, tmp_path / "corpus")
    shutil.copytree(built_settings.data_dir, tmp_path / "data")
    (tmp_path / "corpus" / "innovation-voucher.txt").write_text(NEW_DOC, encoding="utf-8")
    (tmp_path / "corpus" / "innovation-voucher.meta.json").write_text(json.dumps(
        {"doc_id": "innovation-voucher", "title": "长沙市科技创新券管理办法（试行）", "issuer": "长沙市科学技术局"},
        ensure_ascii=False), encoding="utf-8")
    settings = test_settings(data_dir=tmp_path / "data", corpus_dir=tmp_path / "corpus")
    app = create_app(settings, ui=False, refresh=True, load_now=True)
    service = app.state.service
    deadline = time.monotonic() + 120
    while service.status != "ready" and time.monotonic() < deadline:
        assert service.status != "failed", service.error
        time.sleep(0.02)
    first = service.get()  # ready on the index that was there: the new document is not in it yet
    assert "innovation-voucher" not in {d["doc_id"] for d in first.documents()}
    service.wait(120)  # the background refresh: build, then swap
    fresh = service.get()
    assert fresh is not first, "the refreshed index was never swapped in"
    assert "innovation-voucher" in {d["doc_id"] for d in fresh.documents()}
    ans = fresh.ask("科技创新券每家企业每年申领额度是多少？")
    assert ans.answerable and "20万元" in ans.answer
    assert ans.citations[0].doc_id == "innovation-voucher"
