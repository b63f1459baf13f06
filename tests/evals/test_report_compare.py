"""The HTML report of one run and the comparison of two runs, on hand-made rows (no index needed)."""
from __future__ import annotations

import json

import pytest

from evals.compare import compare, format_text, write_html
from evals.metrics import by_category, summarize
from evals.report import diagnose, write_report

EVIDENCE = "高新技术企业数(家)"
GOOD_TEXT = "主要指标：高新技术企业数(家) 2025年目标 6000。"
OTHER_TEXT = "本规划自公布之日起施行。"


def passage(n: int, text: str, section: str = "一、发展目标") -> dict:
    return {"n": n, "passage_id": f"doc:{n}:{abs(hash(text)) % 1000}", "doc_id": "doc", "doc_title": "规划",
            "section": section, "text": text, "quote": text if n else "", "meta": {}}


def row(id_: str, *, category: str = "figure", question: str = "2025年高企数量目标？", answer: str = "目标 6000 家。[1]",
        answerable: bool = True, citations=None, related=None, facts=("6000",), evidence=(EVIDENCE,),
        metrics: dict | None = None, latency: float = 40.0) -> dict:
    citations = [passage(1, GOOD_TEXT)] if citations is None else citations
    related = [] if related is None else related
    if metrics is None:
        metrics = {"refused": not answerable}
        if category != "unanswerable":
            metrics.update({"rank": 1, "hit@1": 1.0, "hit@5": 1.0, "mrr": 1.0, "citation_precision": 1.0,
                            "fact_recall": 1.0})
        else:
            metrics["refusal_ok"] = not answerable
    return {"id": id_, "category": category, "question": question, "standalone_question": question,
            "answer": answer, "answerable": answerable, "notices": [], "citations": citations, "related": related,
            "retrieved_ids": [c["passage_id"] for c in citations + related], "expected_facts": list(facts),
            "evidence": list(evidence), "metrics": metrics, "latency_ms": latency}


MISS = {"refused": False, "rank": None, "hit@1": 0.0, "hit@5": 0.0, "mrr": 0.0, "citation_precision": 0.0,
        "fact_recall": 0.0}


def failing_rows() -> list[dict]:
    return [
        row("OK1"),
        row("NR", question="没检索到的问题", citations=[passage(1, OTHER_TEXT)], metrics=MISS),
        row("NC", question="检索到但没引用", citations=[passage(1, OTHER_TEXT)], related=[passage(0, GOOD_TEXT)],
            metrics={**MISS, "rank": 2, "hit@5": 1.0, "mrr": 0.5}),
        row("FM", question="要点缺失的问题", answer="目标见表。[1]", metrics={**row("x")["metrics"], "fact_recall": 0.0}),
        row("WR", question="被误拒的问题", answer="未找到依据。", answerable=False, citations=[],
            related=[passage(0, GOOD_TEXT)], metrics={**MISS, "refused": True, "rank": 1, "hit@1": 1.0}),
        row("SR", category="unanswerable", question="<script>alert(1)</script>深圳政策？", answer="深圳 & 长沙……[1]",
            facts=(), evidence=()),
        row("OK2", category="unanswerable", question="应拒答且已拒答", answer="未找到依据。", answerable=False,
            citations=[], facts=(), evidence=()),
    ]


def summary_for(rows: list[dict], **settings) -> dict:
    return {"metrics": summarize(rows), "by_category": by_category(rows),
            "settings": {"top_k": 5, "mode": "extractive", **settings}, "python": "3.11"}


# ---------------------------------------------------------------- diagnose / report

def test_diagnose_each_kind_of_failure():
    got = {r["id"]: diagnose(r) for r in failing_rows()}
    assert got == {"OK1": None, "NR": "not retrieved", "NC": "retrieved but not cited",
                   "FM": "cited but facts missing", "WR": "wrongly refused", "SR": "should have refused", "OK2": None}


def test_diagnose_tolerates_missing_metrics():
    r = row("M", metrics={})
    assert diagnose(r) is None  # evidence cited, no fact_recall recorded: nothing to blame
    assert diagnose(row("M2", answerable=False, citations=[], metrics={})) == "wrongly refused"


def test_write_report(tmp_path):
    rows = failing_rows()
    path = write_report(tmp_path / "run", rows, summary_for(rows))
    assert path == tmp_path / "run" / "report.html"
    html = path.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") and '<meta charset="utf-8">' in html
    assert "<table" in html and "指标汇总" in html and "Hit@1" in html
    assert html.count("<svg") == 2  # metrics per category + latency histogram
    assert "<?xml" not in html and "<link" not in html and "<script" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "深圳 &amp; 长沙" in html
    for r in rows:
        if (d := diagnose(r)) is not None:
            assert r["question"].replace("<", "&lt;").replace(">", "&gt;") in html
            assert d in html
    assert "没检索到的问题" in html and "本规划自公布之日起施行" in html  # a failure's citation excerpt
    assert "应拒答且已拒答" not in html  # successes are not listed
    assert "extractive" in html and "top_k" in html


def test_write_report_without_categories_or_latency(tmp_path):
    html = write_report(tmp_path, [], {"metrics": {}, "by_category": {}}).read_text(encoding="utf-8")
    assert "<svg" not in html and "全部通过" in html


# ---------------------------------------------------------------- compare

def write_run(path, rows, **settings):
    path.mkdir(parents=True)
    (path / "results.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows),
                                        encoding="utf-8")
    (path / "summary.json").write_text(json.dumps(summary_for(rows, **settings), ensure_ascii=False),
                                       encoding="utf-8")


@pytest.fixture
def two_runs(tmp_path):
    a = [row("A1"), row("A2", metrics={**row("x")["metrics"], "fact_recall": 0.5}), row("A3", category="fact"),
         row("U1", category="unanswerable", answerable=False, citations=[], facts=(), evidence=()),
         row("GONE")]
    b = [row("A1", category="figure", citations=[passage(1, OTHER_TEXT)], related=[passage(0, GOOD_TEXT)],
             metrics={**MISS, "rank": 2, "hit@5": 1.0, "mrr": 0.5, "fact_recall": 1.0}),  # hit@1 1 -> 0
         row("A2"),                                                                        # fact_recall .5 -> 1
         row("A3", category="fact"),                                                       # unchanged
         row("U1", category="unanswerable", question="<b>深圳</b>？"),                     # now answered
         row("NEW")]
    write_run(tmp_path / "a", a)
    write_run(tmp_path / "b", b, top_k=8)
    return tmp_path / "a", tmp_path / "b"


def test_compare_deltas_and_items(two_runs):
    res = compare(*two_runs)
    assert res["overall"]["hit@1"] == {"a": 1.0, "b": 0.75, "delta": -0.25, "better": False}
    assert res["overall"]["fact_recall"]["delta"] == pytest.approx(0.125) and res["overall"]["fact_recall"]["better"]
    assert res["overall"]["refusal_acc"]["delta"] == -1.0
    assert res["by_category"]["unanswerable"]["refusal_acc"]["delta"] == -1.0
    assert res["by_category"]["fact"]["hit@1"]["delta"] == 0
    assert res["settings_changed"] == {"top_k": {"a": 5, "b": 8}}
    assert [c["id"] for c in res["regressed"]] == ["A1", "U1"]
    assert [c["id"] for c in res["improved"]] == ["A2"]
    assert res["mixed"] == [] and res["only_a"] == ["GONE"] and res["only_b"] == ["NEW"]
    a1 = res["regressed"][0]
    assert a1["changes"] == [{"check": "hit@1", "a": 1.0, "b": 0.0}]
    assert (a1["diagnosis_a"], a1["diagnosis_b"]) == (None, "retrieved but not cited")
    assert res["regressed"][1]["diagnosis_b"] == "should have refused"


def test_compare_text_and_html(two_runs, tmp_path):
    res = compare(*two_runs)
    text = format_text(res)
    assert "hit@1" in text and "-0.25 ✗" in text and "top_k: 5 → 8" in text
    assert "退步 (2)" in text and "改进 (1)" in text and "A1 [figure] hit@1 1→0" in text
    assert "仅在 A 中: GONE" in text and "仅在 B 中: NEW" in text
    path = write_html(res, tmp_path / "out" / "compare.html")
    html = path.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") and "<table" in html
    assert "A1" in html and "A2" in html and "U1" in html and "-0.25 ✗" in html
    assert "&lt;b&gt;深圳&lt;/b&gt;" in html and "<b>深圳" not in html


def test_compare_missing_dirs(tmp_path, two_runs):
    with pytest.raises(ValueError, match="nope"):
        compare(two_runs[0], tmp_path / "nope")
    (tmp_path / "half").mkdir()
    (tmp_path / "half" / "summary.json").write_text("{}", encoding="utf-8")
    with pytest.raises(ValueError, match="results.jsonl"):
        compare(tmp_path / "half", two_runs[1])
