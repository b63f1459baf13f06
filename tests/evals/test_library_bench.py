"""The throughput benchmark runs end to end on a small generated corpus and measures what it says."""
from __future__ import annotations

import pytest

from evals.benchmarks.library import generate_corpus, run_library_bench


def test_generated_corpus_is_invented_and_sized(tmp_path):
    paths = generate_corpus(tmp_path, passages=120, per_doc=40)
    assert len(paths) == 3
    text = paths[0].read_text(encoding="utf-8")
    assert "测试用虚构" in text and text.count("第") >= 40


@pytest.mark.slow
def test_library_bench_cold_and_incremental():
    r = run_library_bench(100)
    cold, inc, one = r["cold"], r["incremental"], r["docs_add_one_file"]
    assert cold["passages"] >= 100 and cold["passages_per_s"] > 0
    # incremental: only the edited article and the new document are embedded
    assert 0 < inc["embedded"] < inc["passages"] and inc["reused"] == inc["passages"] - inc["embedded"]
    assert inc["passages"] > cold["passages"]
    assert 0 < one["embedded"] <= 25 and one["passages"] > inc["passages"]


def test_scale_library_is_invented_policies_of_the_planned_size(tmp_path):
    from evals.benchmarks.library import PASSAGES_PER_POLICY, policy_library
    from retrieval.storage.index import load_passages

    paths = policy_library(tmp_path, 400)
    passages, docs, errors = load_passages(tmp_path)
    assert not errors and len(docs) == len(paths) == 10
    assert 0.8 * 400 <= len(passages) <= 1.25 * 400 and len(passages) / len(docs) == pytest.approx(PASSAGES_PER_POLICY, rel=0.25)
    texts = [p.read_text(encoding="utf-8") for p in paths]
    assert all("测试用虚构文件" in t and "第一章 总则" in t and "第三十五条" in t and "\t" in t for t in texts)
    assert len({t.splitlines()[0] for t in texts}) >= 3  # several issuers and cities
    assert any(p.kind == "table_row" for p in passages) and all(p.meta.get("issuer") for p in passages)


def test_scale_bench_refuses_sizes_it_cannot_build():
    from typer.testing import CliRunner

    from evals.cli import app

    for bad in ("1000,abc", "100"):
        got = CliRunner().invoke(app, ["scale-bench", "--passages", bad])
        assert got.exit_code == 2 and "--passages" in got.output
