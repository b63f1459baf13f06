"""Server mode: the index lives in a real `chroma run` server; replicas are stateless.

To keep the module fast, the corpus is chapter 四 of the plan (about 30 passages), with the plan's
metadata. Chapter 四 holds 岳麓山大学科技城 (alias 大科城) and the 专栏4—x boxes.
"""
from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from types import SimpleNamespace

from helpers import test_settings
import pytest
from plan_excerpt import write_chapter_four

from assistant.core import Assistant
from assistant.errors import AssistantError, IndexNotReady
from assistant.settings import Settings

pytestmark = pytest.mark.server

HOST = "127.0.0.1"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def _heartbeat(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://{HOST}:{port}/api/v2/heartbeat", timeout=2) as resp:
            return resp.status == 200
    except OSError:
        return False


@pytest.fixture(scope="module")
def server(tmp_path_factory, request):
    exe = Path(sys.executable).with_name("chroma")
    if not exe.exists():
        pytest.skip(f"no `chroma` executable next to {sys.executable}: install chromadb in this venv")
    root = tmp_path_factory.mktemp("chroma-server")
    port = _free_port()
    log_path = root / "server.log"
    log = log_path.open("wb")
    proc = subprocess.Popen(
        [str(exe), "run", "--path", str(root / "db"), "--host", HOST, "--port", str(port)],
        stdout=log, stderr=subprocess.STDOUT,
    )

    def stop() -> None:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=15)
        log.close()

    request.addfinalizer(stop)
    deadline = time.monotonic() + 60
    while not _heartbeat(port):
        if proc.poll() is not None:
            pytest.fail(f"`chroma run` exited with {proc.returncode}:\n{log_path.read_text(errors='replace')[-2000:]}")
        if time.monotonic() > deadline:
            pytest.fail(f"`chroma run` did not answer on port {port} within 60 s")
        time.sleep(0.25)
    return SimpleNamespace(proc=proc, port=port, stop=stop)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    return write_chapter_four(tmp_path_factory.mktemp("server-corpus"))


def server_settings(data: Path, corpus: Path, port: int) -> Settings:
    return test_settings(data_dir=data, corpus_dir=corpus, chroma_host=HOST, chroma_port=port)


@pytest.fixture(scope="module")
def built(server, corpus, tmp_path_factory):
    writer = server_settings(tmp_path_factory.mktemp("writer-data"), corpus, server.port)
    report = Assistant.build(writer)
    return SimpleNamespace(settings=writer, report=report)


def test_build_into_the_server(built):
    r = built.report
    assert r.status == "built"
    assert r.passages >= 20
    assert r.embedded == r.passages
    assert r.documents == 1
    # server mode keeps nothing of Chroma's on local disk
    assert not (built.settings.data_dir / "chroma").exists()


def test_stateless_replica_serves_the_same_index(server, corpus, built, tmp_path_factory):
    writer = Assistant.from_settings(built.settings, build=False)
    replica_dir = tmp_path_factory.mktemp("replica-data")
    assert not any(replica_dir.iterdir())
    replica = Assistant.from_settings(server_settings(replica_dir, corpus, server.port), build=False)

    assert len(replica.passages) == len(writer.passages) == built.report.passages
    assert [p.id for p in replica.passages] == [p.id for p in writer.passages]
    assert replica.info.collection == writer.info.collection == built.report.collection
    # its BM25 cache was derived from the passages in Chroma and saved locally
    assert (replica_dir / "bm25" / replica.info.collection).is_dir()
    assert not (replica_dir / "chroma").exists()

    hits = replica.search("大科城", 3)
    assert any("岳麓山大学科技城" in h.passage.text for h in hits)
    assert [h.passage.id for h in hits] == [h.passage.id for h in writer.search("大科城", 3)]


def test_second_build_against_the_server_is_unchanged(built):
    again = Assistant.build(built.settings)
    assert again.status == "unchanged"
    assert again.collection == built.report.collection


# keep last: it stops the server
def test_stopped_server_is_reported_with_its_address(server, corpus, built, tmp_path_factory):
    server.stop()
    assert server.proc.poll() is not None
    settings = server_settings(tmp_path_factory.mktemp("late-replica"), corpus, server.port)
    with pytest.raises(AssistantError) as info:
        Assistant.from_settings(settings, build=False)
    assert not isinstance(info.value, IndexNotReady)  # the store is down, not empty
    assert f"{HOST}:{server.port}" in str(info.value)
