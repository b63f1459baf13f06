"""The real CLI (`python -m assistant ...`) as a subprocess against the session's index."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

TIMEOUT = 300  # a hang guard only, not a timing assertion


def run_cli(args: list[str], env: dict, cwd, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "assistant", *args],
        cwd=cwd, env=env, input=stdin, capture_output=True, text=True, encoding="utf-8", timeout=TIMEOUT,
    )


def assert_clean_error(proc: subprocess.CompletedProcess) -> list[str]:
    assert proc.returncode != 0, proc
    assert "Traceback" not in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stdout, proc.stdout
    lines = [ln for ln in proc.stderr.splitlines() if "error:" in ln]
    assert len(lines) == 1, proc.stderr
    return lines


def test_index_on_built_index_is_unchanged(cli_env, repo_root):
    proc = run_cli(["index"], cli_env, repo_root)
    assert proc.returncode == 0, proc.stderr
    assert "unchanged" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_ask_json(cli_env, repo_root):
    proc = run_cli(["ask", "2025年高企数量目标是多少？", "--json"], cli_env, repo_root)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["answerable"] is True
    assert "6000" in data["answer"]
    assert data["mode"] == "extractive"
    assert data["citations"][0]["n"] == 1 and "6000" in data["citations"][0]["text"]


def test_ask_json_refusal(cli_env, repo_root):
    proc = run_cli(["ask", "深圳的高企政策是什么？", "--json"], cli_env, repo_root)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["answerable"] is False and data["citations"] == [] and "未找到" in data["answer"]


def test_search_json(cli_env, repo_root):
    proc = run_cli(["search", "大科城", "--k", "3", "--json"], cli_env, repo_root)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert list(data) == ["hits"]
    hits = data["hits"]
    assert len(hits) == 3
    for h in hits:
        assert {"passage_id", "doc_id", "doc_title", "section", "text", "score"} <= set(h)
        assert h["doc_id"] == "changsha-sti-plan-2021-2025" and h["text"]
        assert isinstance(h["score"], (int, float))
    assert [h["score"] for h in hits] == sorted((h["score"] for h in hits), reverse=True)
    assert len({h["passage_id"] for h in hits}) == 3
    assert "大科城" in hits[0]["text"] or "岳麓山大学科技城" in hits[0]["text"]


def test_ask_empty_question_is_a_one_line_error(cli_env, repo_root):
    proc = run_cli(["ask", ""], cli_env, repo_root)
    (line,) = assert_clean_error(proc)
    assert "empty" in line


def test_search_k_out_of_range_is_rejected(cli_env, repo_root):
    proc = run_cli(["search", "大科城", "--k", "0"], cli_env, repo_root)
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    assert "--k" in proc.stderr


def test_interactive_session_with_followup(cli_env, repo_root):
    env = dict(cli_env, COLUMNS="400")  # keep rich from wrapping long lines inside figures
    proc = run_cli(["ask"], env, repo_root, stdin="2025年高企数量目标是多少？\n科小呢？\n\n")
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    out = proc.stdout
    assert "6000" in out
    assert "5000" in out
    assert out.index("6000") < out.rindex("5000")  # second answer comes after the first


def test_interactive_session_reports_bad_question_and_continues(cli_env, repo_root):
    env = dict(cli_env, COLUMNS="400")
    long_q = "高" * 600
    proc = run_cli(["ask", "--json"], env, repo_root, stdin=f"{long_q}\n2025年高企数量目标是多少？\n")
    assert proc.returncode == 0, proc.stderr
    assert "600" in proc.stderr and "Traceback" not in proc.stderr
    assert "6000" in proc.stdout


def test_index_with_empty_corpus_fails_cleanly(tmp_path, repo_root):
    data, corpus = tmp_path / "data", tmp_path / "corpus"
    data.mkdir()
    corpus.mkdir()
    env = dict(os.environ, PA_DATA_DIR=str(data), PA_CORPUS_DIR=str(corpus), COLUMNS="400")
    proc = run_cli(["index"], env, repo_root)
    (line,) = assert_clean_error(proc)
    assert str(corpus) in line

    # asking without an index names the same problem instead of crashing
    proc = run_cli(["ask", "2025年高企数量目标是多少？"], env, repo_root)
    (line,) = assert_clean_error(proc)
    assert str(corpus) in line


def test_index_with_missing_corpus_dir_fails_cleanly(tmp_path, repo_root):
    missing = tmp_path / "no-such-corpus"
    env = dict(os.environ, PA_DATA_DIR=str(tmp_path / "data"), PA_CORPUS_DIR=str(missing), COLUMNS="400")
    proc = run_cli(["index"], env, repo_root)
    (line,) = assert_clean_error(proc)
    assert str(missing) in line


@pytest.mark.parametrize("args", [["--help"], ["ask", "--help"]])
def test_help(cli_env, repo_root, args):
    proc = run_cli(args, cli_env, repo_root)
    assert proc.returncode == 0
    assert "ask" in proc.stdout.lower() or "question" in proc.stdout.lower()
