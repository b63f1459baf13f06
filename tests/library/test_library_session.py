"""A staff session with the policy library, end to end through the CLI: add five documents in five formats,
list them, ask a question answered from each (citation shown), update one, remove one.

All documents are invented test data built at test time (tests/docfixtures.py); nothing goes to corpus/.
Run with `-s` to see the session transcript with timings.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from docfixtures import (
    make_docx_with_subsidy_table,
    make_html_page,
    make_markdown,
    make_text_pdf,
    make_txt,
    require_cjk_font,
)

pytestmark = pytest.mark.slow


def cli(env, *args) -> tuple[subprocess.CompletedProcess, float]:
    t0 = time.perf_counter()
    r = subprocess.run([sys.executable, "-m", "assistant", *args], env=env, capture_output=True, text=True,
                       timeout=300)
    return r, time.perf_counter() - t0


def ask(env, question: str) -> tuple[dict, float]:
    r, s = cli(env, "ask", question, "--json")
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout), s


@pytest.fixture(scope="module")
def session(tmp_path_factory, built_settings, cli_env):
    require_cjk_font()
    root = tmp_path_factory.mktemp("library-session")
    shutil.copytree(built_settings.corpus_dir, root / "corpus")
    shutil.copytree(built_settings.data_dir, root / "data")
    src = root / "incoming"
    src.mkdir()
    docs = {
        "docx": make_docx_with_subsidy_table(src, meta={"doc_id": "voucher-docx", "expires": "2028-12-31",
                                                        "status": "现行有效"}),
        "html": make_html_page(src, meta={"doc_id": "gaoqi-html", "expires": "2028-06-30"}),
        "pdf": make_text_pdf(src, pages=3, meta={"doc_id": "transfer-pdf"}),
        "md": make_markdown(src, meta={"doc_id": "rnd-md"}),  # its text says 有效期2年 from 2022-09-01: expired
        "txt": make_txt(src, meta={"doc_id": "institutes-txt"}),
    }
    env = {**cli_env, "PA_DATA_DIR": str(root / "data"), "PA_CORPUS_DIR": str(root / "corpus")}
    return {"env": env, "docs": docs, "root": root, "log": []}


def test_add_five_formats_then_list(session):
    env, docs, log = session["env"], session["docs"], session["log"]
    r, secs = cli(env, "docs", "add", *map(str, docs.values()))
    assert r.returncode == 0, r.stderr
    log.append(f"docs add (5 files): {secs:.1f} s\n{r.stderr.strip()}")
    for doc_id in ("voucher-docx", "gaoqi-html", "transfer-pdf", "rnd-md", "institutes-txt"):
        assert f"added {doc_id}" in r.stderr
    r, secs = cli(env, "docs", "list", "--json")
    listed = {d["doc_id"]: d for d in json.loads(r.stdout)}
    log.append(f"docs list: {secs:.1f} s: " + "; ".join(f"{k} ({v['passages']})" for k, v in listed.items()))
    assert set(listed) == {"changsha-sti-plan-2021-2025", "voucher-docx", "gaoqi-html", "transfer-pdf", "rnd-md",
                           "institutes-txt"}
    assert listed["voucher-docx"]["title"] == "测试市科技创新券管理办法"
    assert listed["gaoqi-html"]["doc_number"] == "测科发〔2023〕15号"
    assert "expires" in listed["rnd-md"].get("guessed", "")  # detected from 有效期2年, not given


@pytest.mark.parametrize("fmt,question,doc_id,expected", [
    ("docx", "青年科技人才生活补贴标准是多少？", "voucher-docx", "1500"),
    ("html", "企业研发投入由哪个部门初审？", "gaoqi-html", "区县科技部门"),
    ("pdf", "技术合同登记额度每增加100万元奖励多少？", "transfer-pdf", "1万元"),
    ("txt", "对新认定的新型研发机构给予多少支持？", "institutes-txt", "300万元"),
])
def test_question_answered_from_each_format(session, fmt, question, doc_id, expected):
    ans, secs = ask(session["env"], question)
    assert ans["answerable"], ans
    cited = [c for c in ans["citations"] if c["doc_id"] == doc_id]
    assert cited, ans["citations"]
    assert expected in ans["answer"]
    c = cited[0]
    session["log"].append(f"[{fmt}] {question} ({secs:.1f} s)\n  {ans['answer']}\n  [{c['n']}] {c['doc_title']} · "
                          f"{c['section']}" + (f" · 第{c['meta']['page']}页" if c["meta"].get("page") else ""))
    if fmt == "pdf":
        assert c["meta"].get("page") in (1, 2, 3)
    if fmt == "docx":
        assert any("validity:" in n and "2028-12-31" in n for n in ans["notices"])


def test_expired_document_is_left_out_unless_asked_for(session):
    ans, _ = ask(session["env"], "高新技术企业研发费用补助比例是多少？")
    assert all(c["doc_id"] != "rnd-md" for c in ans["citations"] + ans["related"])
    session["log"].append(f"[md, expired] default answer cites: {[c['doc_id'] for c in ans['citations']]}")


def test_update_one_document(session):
    env, log = session["env"], session["log"]
    path = session["docs"]["txt"]
    path.write_text(path.read_text(encoding="utf-8").replace("最高300万元", "最高500万元"), encoding="utf-8")
    r, secs = cli(env, "docs", "add", str(path))
    assert r.returncode == 0, r.stderr
    assert "updated institutes-txt" in r.stderr
    embedded = int(r.stderr.split("embedded ")[1].split(",")[0])
    assert 1 <= embedded <= 3  # only the changed passage(s)
    log.append(f"docs add (update txt): {secs:.1f} s, embedded {embedded}")
    ans, _ = ask(env, "对新认定的新型研发机构给予多少支持？")
    assert "500万元" in ans["answer"] and "300万元" not in ans["answer"]


def test_remove_one_document(session):
    env, log = session["env"], session["log"]
    r, secs = cli(env, "docs", "remove", "gaoqi-html")
    assert r.returncode == 0, r.stderr
    log.append(f"docs remove gaoqi-html: {secs:.1f} s")
    r, _ = cli(env, "docs", "list", "--json")
    assert "gaoqi-html" not in {d["doc_id"] for d in json.loads(r.stdout)}
    ans, _ = ask(env, "企业研发投入由哪个部门初审？")
    assert all(c["doc_id"] != "gaoqi-html" for c in ans["citations"] + ans["related"])
    assert not (Path(env["PA_CORPUS_DIR"]) / session["docs"]["html"].name).exists()
    print("\n" + "\n".join(log))
