"""Backup and restore (`python -m assistant backup DIR` / `restore DIR`), with real processes.

A real server on a private copy of the session index keeps answering (every request 200) while the
backup is written; then the library is changed (a document added, the plan removed, feedback added),
the backup restored, and the running server — and a fresh process — answer exactly as before. A
restore that cannot be done (altered file, unknown format, not a backup) is refused naming why, and
changes nothing. An index written by an older version (index format 1) is rebuilt, never read.
The added document is INVENTED (测试市 does not exist).
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time

import httpx
import pytest
from docfixtures import private_index
from test_uploads import PLAN_ID, VOUCHER

pytestmark = [pytest.mark.slow]
QUESTIONS = ["到2025年长沙市高新技术企业数量目标是多少？", "大科城的建设目标是什么？", "长沙如何引进和培育高层次科技人才？"]
ANSWERS = r"""
import json, sys
from assistant.core import Assistant
from assistant.settings import get_settings
a = Assistant.from_settings(get_settings(), build=False)
print(json.dumps([{"answer": r.answer, "cited": [c.passage_id for c in r.citations]}
                  for r in (a.ask(q) for q in json.loads(sys.argv[1]))], ensure_ascii=False))
"""


def answers_of(http: httpx.Client) -> list[dict]:
    out = []
    for q in QUESTIONS:
        r = http.post("/v1/ask", json={"question": q})
        assert r.status_code == 200, r.text
        out.append({"answer": r.json()["answer"], "cited": [c["passage_id"] for c in r.json()["citations"]]})
    return out


def snapshot(settings) -> dict:
    files = {str(p.relative_to(settings.corpus_dir)): p.read_bytes() for p in sorted(settings.corpus_dir.rglob("*"))
             if p.is_file() and ".removed" not in p.parts}
    from assistant.records import Database
    from assistant.records.feedback import export_jsonl

    return {"files": files, "feedback": export_jsonl(Database(settings.database_config()))}


@pytest.fixture(scope="module")
def site(built_settings, cli_env, tmp_path_factory):
    from evals.benchmarks.load import serve

    root = tmp_path_factory.mktemp("backup")
    settings = private_index(built_settings, root / "lib", index_poll_seconds=1)
    env = {**cli_env, "PA_DATA_DIR": str(settings.data_dir), "PA_CORPUS_DIR": str(settings.corpus_dir),
           "PA_INDEX_POLL_SECONDS": "1"}
    with serve(env, timeout=240, log_path=root / "server.log") as served:
        yield served.url, settings, {**os.environ, **env}, root


def cli(env: dict, *args: str, code: int = 0) -> subprocess.CompletedProcess:
    r = subprocess.run([sys.executable, "-m", "assistant", *args], env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == code, (r.returncode, r.stderr[-3000:])
    return r


def test_backup_while_serving_then_restore_answers_as_before(site, tmp_path):
    from assistant.records import Database
    from assistant.records.feedback import list_feedback, record_feedback

    url, settings, env, root = site
    records = Database(settings.database_config())
    http = httpx.Client(base_url=url, timeout=120)
    record_feedback(records, question=QUESTIONS[0], answer={"answer": "6000", "answerable": True}, vote="up")
    before, state = answers_of(http), snapshot(settings)

    statuses: list[int] = []
    stop = threading.Event()

    def keep_asking() -> None:
        with httpx.Client(base_url=url, timeout=120) as c:
            while not stop.is_set():
                statuses.append(c.post("/v1/search", json={"query": "大科城", "top_k": 3}).status_code)

    asker = threading.Thread(target=keep_asking, daemon=True)
    asker.start()
    try:
        cli(env, "backup", str(tmp_path / "bk"))
    finally:
        stop.set()
        asker.join(60)
    assert statuses and set(statuses) == {200}, statuses  # the server kept serving
    manifest = json.loads((tmp_path / "bk" / "manifest.json").read_text())
    assert manifest["documents"] == 1 and manifest["passages"] > 100 and manifest["index_format"] == 2

    # change everything: a new document, the plan removed, more feedback
    doc = tmp_path / "voucher-backup.txt"
    doc.write_text(VOUCHER, encoding="utf-8")
    cli(env, "docs", "add", str(doc))
    cli(env, "docs", "remove", PLAN_ID)
    record_feedback(records, question="x", answer={"answer": "y"}, vote="down")
    time.sleep(3)
    assert answers_of(http) != before

    r = cli(env, "restore", str(tmp_path / "bk"))
    assert "restored 1 documents" in r.stderr, r.stderr
    assert snapshot(settings) == state  # corpus byte for byte, and the feedback as it was
    assert [e["question"] for e in list_feedback(records)] == [QUESTIONS[0]]
    deadline = time.monotonic() + 60  # the running server follows the pointer (PA_INDEX_POLL_SECONDS=1)
    while (now := answers_of(http)) != before and time.monotonic() < deadline:
        time.sleep(0.5)
    assert now == before
    fresh = subprocess.run([sys.executable, "-c", ANSWERS, json.dumps(QUESTIONS)], env=env, capture_output=True,
                           text=True, timeout=300)
    assert json.loads(fresh.stdout) == before, fresh.stderr[-2000:]
    assert list(root.joinpath("lib").glob(".corpus.before-restore-*"))  # what it replaced is kept


def test_a_restore_that_cannot_be_done_is_refused_naming_why_and_changes_nothing(site, tmp_path):
    url, settings, env, root = site
    cli(env, "backup", str(tmp_path / "bk"))
    state = snapshot(settings)
    pointer = httpx.get(url + "/readyz").json()["collection"]

    altered = tmp_path / "altered"
    shutil.copytree(tmp_path / "bk", altered)
    target = next((altered / "corpus").glob("*.txt"))
    target.write_text(target.read_text(encoding="utf-8") + "篡改", encoding="utf-8")
    newer = tmp_path / "newer"
    shutil.copytree(tmp_path / "bk", newer)
    m = json.loads((newer / "manifest.json").read_text())
    (newer / "manifest.json").write_text(json.dumps({**m, "format": 99}))
    partial = tmp_path / "partial"
    shutil.copytree(tmp_path / "bk", partial)
    (partial / "index" / "embeddings.npy").unlink()
    cases = {altered: "does not match its checksum", newer: "format 99", partial: "embeddings.npy is missing",
             tmp_path / "nothing": "no manifest.json"}
    (tmp_path / "nothing").mkdir()
    for src, why in cases.items():
        r = cli(env, "restore", str(src), code=2)
        assert why in " ".join(r.stderr.split()), (src, r.stderr)
    assert snapshot(settings) == state
    assert httpx.get(url + "/readyz").json()["collection"] == pointer
    r = cli(env, "backup", str(tmp_path / "bk"), code=2)  # never over an existing backup
    assert "not an empty directory" in " ".join(r.stderr.split())


def test_an_index_of_an_older_format_is_rebuilt_with_a_notice_never_read(tmp_path, caplog):
    from docfixtures import VOUCHER as FULL_VOUCHER
    from docfixtures import VOUCHER_Q
    from helpers import test_settings

    from assistant.core import Assistant
    from assistant.errors import IndexNotReady
    from retrieval.storage.index import INDEX_FORMAT
    from retrieval.storage.store import open_store

    (tmp_path / "corpus").mkdir()
    (tmp_path / "corpus" / "voucher.txt").write_text(FULL_VOUCHER, encoding="utf-8")
    settings = test_settings(data_dir=tmp_path / "data", corpus_dir=tmp_path / "corpus")
    Assistant.build(settings)
    store = open_store(settings.store_config())
    active = store.active()
    store.activate(active.collection, {**active.info, "format": 1})  # as an older version wrote it
    with pytest.raises(IndexNotReady, match="older version.*format 1.*python -m assistant index"):
        Assistant.from_settings(settings, build=False)  # a replica that may not build: refuses, never reads
    with caplog.at_level("WARNING"):
        a = Assistant.from_settings(settings)
    assert "older version" in caplog.text and "rebuilt" in caplog.text
    assert a.info.collection != active.name and store.pointer()["format"] == INDEX_FORMAT
    assert "20万元" in a.ask(VOUCHER_Q).answer
