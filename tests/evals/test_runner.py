"""The evaluation runner (`python -m evals run`) end to end, and the scorer / dataset loader as units."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from evals.dataset import DatasetError, Item, load_jsonl
from evals.metrics import score_item, summarize

METRIC_KEYS = ("hit@1", "hit@5", "mrr", "fact_recall", "refusal_acc", "false_refusal")

SMALL_SET = [
    {"id": "S1", "question": "2025年高新技术企业数量目标是多少？", "category": "figure",
     "answer_facts": ["6000"], "evidence": ["高新技术企业数(家)"]},
    {"id": "S2", "question": "科小呢？", "category": "followup",
     "answer_facts": ["5000"], "evidence": ["科技型中小企业数(家)"], "prev": "S1"},
    {"id": "S3", "question": "高企认定能拿多少万元补贴？", "category": "unanswerable",
     "answer_facts": [], "evidence": []},
    {"id": "S4", "question": "What is the 2025 target for high-tech enterprises?", "category": "colloquial",
     "answer_facts": ["6000"], "evidence": ["高新技术企业数(家)"]},
    {"id": "S5", "question": "这个规划的发文字号是多少？", "category": "政策咨询",
     "answer_facts": ["长政办发〔2021〕30号"], "evidence": ["长政办发〔2021〕30号"]},
    {"id": "S6", "question": "深圳的高企政策是什么？", "category": "unanswerable",
     "answer_facts": [], "evidence": []},
]


def write_jsonl(path, rows) -> None:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


# ---------------------------------------------------------------------------- end to end
@pytest.fixture(scope="module")
def eval_run(tmp_path_factory, cli_env, repo_root):
    tmp = tmp_path_factory.mktemp("eval-run")
    set_path = tmp / "small.jsonl"
    write_jsonl(set_path, SMALL_SET)
    out = tmp / "out"
    proc = subprocess.run(
        [sys.executable, "-m", "evals", "run", str(set_path), "--out", str(out)],
        cwd=repo_root, env=cli_env, capture_output=True, text=True, encoding="utf-8", timeout=600,
    )
    return proc, out


def test_run_exits_zero_and_writes_files(eval_run):
    proc, out = eval_run
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert (out / "summary.json").is_file() and (out / "results.jsonl").is_file()


def test_summary_metrics(eval_run):
    proc, out = eval_run
    assert proc.returncode == 0, proc.stderr
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    metrics = summary["metrics"]
    for key in METRIC_KEYS:
        assert key in metrics, key
        assert isinstance(metrics[key], (int, float)), (key, metrics[key])
        assert 0.0 <= metrics[key] <= 1.0, (key, metrics[key])
    assert metrics["items"] == len(SMALL_SET)
    # this small set is easy: the assistant answers and refuses each item correctly
    assert metrics["refusal_acc"] == 1.0
    assert metrics["false_refusal"] == 0.0
    assert metrics["fact_recall"] == 1.0
    assert metrics["hit@5"] == 1.0
    # categories are staff's own labels: "colloquial" and "政策咨询" are reported like the known ones
    assert set(summary["by_category"]) == {r["category"] for r in SMALL_SET}
    assert summary["by_category"]["政策咨询"]["items"] == 1 and summary["by_category"]["colloquial"]["hit@5"] == 1.0


def test_results_have_one_line_per_item(eval_run):
    proc, out = eval_run
    assert proc.returncode == 0, proc.stderr
    lines = (out / "results.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == len(SMALL_SET)
    rows = [json.loads(ln) for ln in lines]
    assert [r["id"] for r in rows] == [r["id"] for r in SMALL_SET]
    for row, item in zip(rows, SMALL_SET):
        for key in ("question", "answer", "citations", "metrics", "latency_ms"):
            assert key in row, key
        assert row["question"] == item["question"]
        assert isinstance(row["latency_ms"], (int, float)) and row["latency_ms"] >= 0
    by_id = {r["id"]: r for r in rows}
    # the follow-up was run with the previous item as history
    assert "5000" in by_id["S2"]["answer"]
    assert "科小" in by_id["S2"]["standalone_question"] or "科技型中小企业" in by_id["S2"]["standalone_question"]
    assert by_id["S3"]["answerable"] is False and by_id["S3"]["metrics"]["refusal_ok"] is True
    assert by_id["S1"]["metrics"]["hit@1"] == 1.0


def test_run_with_bad_set_fails_cleanly(tmp_path, cli_env, repo_root):
    bad = tmp_path / "bad.jsonl"
    write_jsonl(bad, [{"id": "X1", "question": "问题？", "category": "nonsense\x07label"}])
    proc = subprocess.run(
        [sys.executable, "-m", "evals", "run", str(bad), "--out", str(tmp_path / "out")],
        cwd=repo_root, env=cli_env, capture_output=True, text=True, encoding="utf-8", timeout=300,
    )
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    assert "nonsense" in proc.stderr and "a label of 1 to 40 characters" in proc.stderr
    assert not (tmp_path / "out" / "summary.json").exists()


# ---------------------------------------------------------------------------- score_item / summarize
def item(category="figure", facts=("6000",), evidence=("高新技术企业数(家)",), id="I1") -> Item:
    return Item(id=id, question="q", category=category, answer_facts=list(facts), evidence=list(evidence))


def cit(text: str, n: int = 1) -> dict:
    return {"n": n, "text": text}


def answer(text="", answerable=True, citations=(), related=()) -> dict:
    return {"answer": text, "answerable": answerable, "citations": list(citations), "related": list(related)}


ROW = "高新技术企业数(家)：2020年 4142；2025年目标 6000"


def test_hit_at_1_when_evidence_in_first_citation():
    m = score_item(item(), answer("……6000[1]", citations=[cit(ROW)]))
    assert m["rank"] == 1 and m["hit@1"] == 1.0 and m["hit@5"] == 1.0 and m["mrr"] == 1.0
    assert m["citation_precision"] == 1.0
    assert m["fact_recall"] == 1.0 and m["refused"] is False


def test_rank_counts_citations_only():
    """hit@k and MRR judge what the answer cites; a related passage shown below it counts only in nDCG."""
    cited_third = answer("……[3]", citations=[cit("无关段落一"), cit("无关段落二", 2), cit(ROW, 3)])
    m = score_item(item(), cited_third)
    assert m["rank"] == 3 and m["hit@1"] == 0.0 and m["hit@5"] == 1.0
    assert m["mrr"] == pytest.approx(1 / 3)
    assert m["citation_precision"] == pytest.approx(1 / 3)
    only_related = answer("……[1]", citations=[cit("无关段落一")], related=[cit("无关段落二", 0), cit(ROW, 0)])
    r = score_item(item(), only_related)
    assert r["rank"] is None and r["hit@5"] == 0.0 and r["mrr"] == 0.0
    assert r["citation_precision"] == 0.0
    assert 0.0 < r["ndcg@10"] < 1.0


def test_retrieved_at_5_is_scored_apart():
    m = score_item(item(), answer("x[1]", citations=[cit("无关")]), retrieved=["a", "b", "c", "d", ROW, "f"])
    assert m["retrieved@5"] == 1.0 and m["hit@5"] == 0.0
    late = score_item(item(), answer("x[1]", citations=[cit("无关")]), retrieved=["a", "b", "c", "d", "e", ROW])
    assert late["retrieved@5"] == 0.0


def test_rank_beyond_five_is_not_a_hit():
    a = answer("x", citations=[cit(f"无关{i}") for i in range(6)] + [cit(ROW)])
    m = score_item(item(), a)
    assert m["rank"] == 7 and m["hit@5"] == 0.0 and m["mrr"] == pytest.approx(1 / 7)


def test_no_evidence_shown():
    m = score_item(item(), answer("x", citations=[cit("无关")]))
    assert m["rank"] is None and m["hit@1"] == 0.0 and m["hit@5"] == 0.0 and m["mrr"] == 0.0


def test_evidence_match_ignores_width_and_whitespace():
    full_width = "高新技术企业数（家）：2020年 4142；2025年目标 6000"
    spaced = "高新技术 企业数\n(家)"
    assert score_item(item(), answer("6000[1]", citations=[cit(full_width)]))["hit@1"] == 1.0
    assert score_item(item(), answer("6000[1]", citations=[cit(spaced)]))["hit@1"] == 1.0
    # and the other way round: full-width evidence against half-width text
    m = score_item(item(evidence=["高新技术企业数（家）"]), answer("6000[1]", citations=[cit(ROW)]))
    assert m["hit@1"] == 1.0


def test_fact_recall_fraction():
    it = item(facts=["6000", "4142", "5000"])
    m = score_item(it, answer("根据规划：2020年 4142；2025年目标 6000[1]", citations=[cit(ROW)]))
    assert m["fact_recall"] == pytest.approx(2 / 3)
    # facts are compared after NFKC/whitespace normalisation too
    m2 = score_item(item(facts=["32%"]), answer("达到 32％ 以上[1]", citations=[cit(ROW)]))
    assert m2["fact_recall"] == 1.0


def test_refused_answerable_item_scores_zero_fact_recall():
    m = score_item(item(), answer("规划中未找到6000", answerable=False, related=[cit(ROW, 0)]))
    assert m["refused"] is True
    assert m["fact_recall"] == 0.0
    assert m["hit@1"] == 0.0  # a refusal cites nothing: the reading shown below it is not a citation
    assert m["ndcg@10"] == 1.0  # ...but the evidence was shown first
    assert "citation_precision" not in m


def test_refusal_counted_for_unanswerable_items():
    una = item(category="unanswerable", facts=(), evidence=())
    assert score_item(una, answer("未找到", answerable=False))["refusal_ok"] is True
    wrong = score_item(una, answer("根据规划：6000[1]", citations=[cit(ROW)]))
    assert wrong["refusal_ok"] is False and wrong["refused"] is False
    assert "hit@1" not in wrong  # retrieval metrics are for answerable items only


def _row(category: str, metrics: dict, latency: float = 1.0, citations=()) -> dict:
    return {"category": category, "metrics": metrics, "latency_ms": latency, "citations": list(citations)}


def test_summarize():
    answered = score_item(item(), answer("6000[1]", citations=[cit(ROW)]))
    third = score_item(item(), answer("x[3]", citations=[cit("a"), cit("b", 2), cit(ROW, 3)]))
    refused = score_item(item(), answer("未找到", answerable=False))
    una_ok = score_item(item("unanswerable", (), ()), answer("未找到", answerable=False))
    una_bad = score_item(item("unanswerable", (), ()), answer("6000[1]", citations=[cit(ROW)]))
    rows = [
        _row("figure", answered, citations=[cit(ROW)]),
        _row("figure", third, citations=[cit("a")]),
        _row("fact", refused),
        _row("unanswerable", una_ok),
        _row("unanswerable", una_bad, citations=[cit(ROW)]),
    ]
    s = summarize(rows)
    assert s["items"] == 5
    assert s["hit@1"] == pytest.approx(1 / 3, abs=1e-4)
    assert s["hit@5"] == pytest.approx(2 / 3, abs=1e-4)
    assert s["mrr"] == pytest.approx((1 + 1 / 3 + 0) / 3, abs=1e-4)
    assert s["fact_recall"] == pytest.approx(1 / 3, abs=1e-4)
    assert s["refusal_acc"] == pytest.approx(0.5)
    assert s["false_refusal"] == pytest.approx(1 / 3, abs=1e-4)
    for key in METRIC_KEYS:
        assert 0.0 <= s[key] <= 1.0


def test_summarize_without_unanswerable_items_has_no_refusal_acc():
    s = summarize([_row("figure", score_item(item(), answer("6000[1]", citations=[cit(ROW)])))])
    assert s["refusal_acc"] is None and s["hit@1"] == 1.0 and s["false_refusal"] == 0.0


# ---------------------------------------------------------------------------- load_jsonl
GOOD = {"id": "A", "question": "2025年高企数量目标是多少？", "category": "figure",
        "answer_facts": ["6000"], "evidence": ["高新技术企业数(家)"]}


def test_load_jsonl_good(tmp_path):
    p = tmp_path / "s.jsonl"
    write_jsonl(p, [GOOD, {"id": "B", "question": "科小呢？", "category": "followup", "prev": "A",
                           "answer_facts": ["5000"], "evidence": ["科技型中小企业数(家)"]}])
    items = load_jsonl(p)
    assert [i.id for i in items] == ["A", "B"]
    assert items[1].prev == "A" and items[0].answer_facts == ["6000"] and items[0].answerable


@pytest.mark.parametrize(
    "bad, needle",
    [
        ({"id": "B", "question": "q？", "category": "t" * 41}, "a label of 1 to 40 characters"),
        ({"id": "B", "category": "fact"}, "missing field 'question'"),
        ({"question": "q？", "category": "fact"}, "missing field 'id'"),
        ({"id": "B", "question": "q？", "category": "followup", "prev": "C"}, "C"),
        ({"id": "A", "question": "q？", "category": "fact"}, "duplicate"),
        ({"id": "B", "question": "  ", "category": "fact"}, "empty"),
    ],
    ids=["bad-category", "missing-question", "missing-id", "prev-forward", "duplicate-id", "empty-question"],
)
def test_load_jsonl_errors_name_the_line(tmp_path, bad, needle):
    p = tmp_path / "s.jsonl"
    rows = [GOOD, bad]
    if bad.get("prev") == "C":  # C exists, but only after B
        rows.append({"id": "C", "question": "q？", "category": "fact"})
    write_jsonl(p, rows)
    with pytest.raises(DatasetError) as exc:
        load_jsonl(p)
    msg = str(exc.value)
    assert f"{p}:2:" in msg, msg
    assert needle in msg, msg


def test_load_jsonl_invalid_json_and_blank_lines(tmp_path):
    p = tmp_path / "s.jsonl"
    p.write_text(json.dumps(GOOD, ensure_ascii=False) + "\n\n{not json\n", encoding="utf-8")
    with pytest.raises(DatasetError, match=r":3: not valid JSON"):
        load_jsonl(p)


def test_load_jsonl_empty_file(tmp_path):
    p = tmp_path / "s.jsonl"
    p.write_text("\n", encoding="utf-8")
    with pytest.raises(DatasetError, match="no items"):
        load_jsonl(p)
