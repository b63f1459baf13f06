"""The throughput benchmark runs end to end on a small generated corpus and measures what it says."""
from __future__ import annotations

import pytest

from evals.library_bench import generate_corpus, run_library_bench


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
