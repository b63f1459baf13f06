"""Spreadsheet evaluation sets (`load_set` on .csv / .xlsx) and the ndcg@10 metric."""
from __future__ import annotations

import csv
import io
import math
from pathlib import Path

import pytest
from openpyxl import Workbook

from assistant.errors import DatasetError
from evals.dataset import Item, load_jsonl, load_set
from evals.metrics import ndcg_at, score_item, summarize

REPO = Path(__file__).resolve().parents[2]
HEADER = ["编号", "问题", "标准答案要点", "依据原文", "类别", "上一题"]
GOOD_ROWS = [
    ["Q1", "2025年高新技术企业数量目标是多少？", "6000", "高新技术企业数(家)", "数字", ""],
    ["", "科小呢？", "5000；2025年", "科技型中小企业数(家);科技型中小企业", "追问", "Q1"],
    ["", "", "", "", "", ""],  # empty row: skipped, but row numbers keep counting
    ["Q4", "深圳的高企政策是什么？", "", "", "无答案", ""],
    ["Q5", "What is the 2025 target?", " 6000 ； ", "高新技术企业数(家)", "English", ""],
]
EXPECTED = [
    Item("Q1", "2025年高新技术企业数量目标是多少？", "figure", ["6000"], ["高新技术企业数(家)"], None),
    Item("R3", "科小呢？", "followup", ["5000", "2025年"], ["科技型中小企业数(家)", "科技型中小企业"], "Q1"),
    Item("Q4", "深圳的高企政策是什么？", "unanswerable", [], [], None),
    Item("Q5", "What is the 2025 target?", "english", ["6000"], ["高新技术企业数(家)"], None),
]


def write_csv(path: Path, rows: list[list[str]], encoding: str = "utf-8") -> Path:
    buf = io.StringIO()
    csv.writer(buf).writerows(rows)
    path.write_bytes(buf.getvalue().encode(encoding))
    return path


def write_xlsx(path: Path, rows: list[list]) -> Path:
    wb = Workbook()
    ws = wb.active
    for row in rows:
        ws.append([None if v == "" else v for v in row])
    wb.create_sheet("ignored").append(["问题", "类别"])  # only the first sheet is read
    wb.save(path)
    return path


def problems(exc: pytest.ExceptionInfo) -> list[str]:
    return str(exc.value).splitlines()[1:]


# ---------------------------------------------------------------------------- good files
@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
def test_csv_loads(tmp_path, encoding):
    p = write_csv(tmp_path / "set.csv", [HEADER, *GOOD_ROWS], encoding)
    assert load_set(p) == EXPECTED


def test_xlsx_loads(tmp_path):
    p = write_xlsx(tmp_path / "set.xlsx", [HEADER, *GOOD_ROWS])
    assert load_set(p) == EXPECTED


def test_xlsx_numeric_ids_and_any_column_order(tmp_path):
    rows = [["类别", "问题", "编号", "上一题", "备注"],
            ["fact", "发文字号？", 1, None, "ignored column"],
            ["多轮", "那印发日期呢？", 2, 1, None]]
    items = load_set(write_xlsx(tmp_path / "set.XLSX", rows))
    assert [(i.id, i.category, i.prev, i.answer_facts, i.evidence) for i in items] == [
        ("1", "fact", None, [], []), ("2", "followup", "1", [], [])]


def test_bundled_jsonl_set_unchanged():
    path = REPO / "evals" / "sets" / "plan_dev.jsonl"
    assert load_set(path) == load_jsonl(path)


# ---------------------------------------------------------------------------- validation
def test_all_row_problems_reported_together(tmp_path):
    rows = [HEADER,
            ["Q1", "第一题", "", "", "fact", ""],
            ["", "", "", "", "fact", ""],            # row 3: empty question
            ["Q1", "重复编号", "", "", "figure", ""],  # row 4: duplicate id
            ["", "坏类别", "", "", "x" * 41, ""],      # row 5: a label over 40 characters
            ["", "没有类别", "", "", "", ""],          # row 6: empty category
            ["", "向前指", "", "", "追问", "R9"],      # row 7: forward reference
            ["R9", "后面的题", "", "", "fact", ""]]
    for p in (write_csv(tmp_path / "bad.csv", rows), write_xlsx(tmp_path / "bad.xlsx", rows)):
        with pytest.raises(DatasetError) as exc:
            load_set(p)
        assert str(p) in str(exc.value).splitlines()[0]
        got = problems(exc)
        assert len(got) == 5
        assert got[0] == "第3行 “问题” 为空"
        assert got[1].startswith("第4行 “编号” 重复") and "Q1" in got[1] and "第2行" in got[1]
        assert got[2].startswith(f"第5行 “类别” 的值 “{'x' * 41}” 无效：类别是 1–40 个字符的标签")
        assert "figure（数字/指标）" in got[2] and "unanswerable（无答案/拒答）" in got[2]
        assert got[3].startswith("第6行 “类别” 为空")
        assert got[4] == "第7行 “上一题” 指向不存在或更晚的编号 “R9”"


def test_prev_to_unknown_id_and_self(tmp_path):
    rows = [HEADER, ["A", "q", "", "", "fact", "nope"], ["B", "q", "", "", "fact", "B"]]
    with pytest.raises(DatasetError) as exc:
        load_set(write_csv(tmp_path / "s.csv", rows))
    assert problems(exc) == ["第2行 “上一题” 指向不存在或更晚的编号 “nope”",
                             "第3行 “上一题” 指向不存在或更晚的编号 “B”"]


def test_default_id_can_collide_with_explicit_id(tmp_path):
    rows = [HEADER, ["R3", "q", "", "", "fact", ""], ["", "q", "", "", "fact", ""]]
    with pytest.raises(DatasetError) as exc:
        load_set(write_csv(tmp_path / "s.csv", rows))
    assert problems(exc)[0].startswith("第3行 “编号” 重复")


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_missing_required_columns(tmp_path, suffix):
    rows = [["编号", "标准答案要点"], ["Q1", "6000"]]
    p = (write_csv if suffix == ".csv" else write_xlsx)(tmp_path / f"s{suffix}", rows)
    with pytest.raises(DatasetError) as exc:
        load_set(p)
    assert problems(exc) == ["缺少必需的列 “问题”", "缺少必需的列 “类别”"]


def test_header_only_or_empty_file(tmp_path):
    with pytest.raises(DatasetError, match="没有题目"):
        load_set(write_csv(tmp_path / "h.csv", [HEADER, ["", "", "", "", "", ""]]))
    (tmp_path / "e.csv").write_bytes(b"")
    with pytest.raises(DatasetError, match="表头为空"):
        load_set(tmp_path / "e.csv")


def test_garbage_xlsx_names_the_file(tmp_path):
    p = tmp_path / "junk.xlsx"
    p.write_bytes(b"\x00\x01not a zip at all\xff" * 20)
    with pytest.raises(DatasetError) as exc:
        load_set(p)
    assert str(p) in str(exc.value) and "XLSX" in str(exc.value)


def test_binary_csv_names_the_file(tmp_path):
    p = tmp_path / "junk.csv"
    p.write_bytes(b"\x80\xff\x00\x81" * 20)
    with pytest.raises(DatasetError) as exc:
        load_set(p)
    assert str(p) in str(exc.value) and "CSV" in str(exc.value)


def test_unsupported_suffix(tmp_path):
    p = tmp_path / "set.txt"
    p.write_text("问题,类别\n", encoding="utf-8")
    with pytest.raises(DatasetError, match="不支持的文件类型"):
        load_set(p)


# ---------------------------------------------------------------------------- ndcg@10
EVIDENCE = "高新技术企业数(家)"
ROW = "高新技术企业数(家)：2020年 4142；2025年目标 6000"


def _item(category="figure") -> Item:
    return Item(id="I", question="q", category=category, answer_facts=["6000"],
                evidence=[] if category == "unanswerable" else [EVIDENCE])


def _answer(shown: list[str], n_cited: int = 1, answerable: bool = True) -> dict:
    cits = [{"n": i, "text": t} for i, t in enumerate(shown[:n_cited], 1)]
    rel = [{"n": 0, "text": t} for t in shown[n_cited:]]
    return {"answer": "6000[1]" if answerable else "未找到", "answerable": answerable,
            "citations": cits, "related": rel}


@pytest.mark.parametrize("shown, expected", [
    ([ROW, "a", "b"], 1.0),
    (["a", "b", ROW], 0.5),                       # a related passage counts after the citations
    (["a", "b", "c"], 0.0),
    ([], 0.0),
    (["a"] * 10 + [ROW], 0.0),                    # rank 11: outside the cut-off
    ([ROW, "a", ROW], (1 + 0.5) / (1 + 1 / math.log2(3))),
    (["高新技术企业数（家）：…", "a"], 1.0),        # same normalisation (NFKC) as hit@k
])
def test_ndcg_values(shown, expected):
    m = score_item(_item(), _answer(shown))
    assert m["ndcg@10"] == pytest.approx(expected)


def test_hit_at_k_counts_citations_only_and_retrieved_at_5_apart():
    """hit@k and mrr read the answer's citations in order; a related passage is not a citation. retrieved@5
    (evidence among the top 5 retrieved passages) is scored apart, only when they are given."""
    cited_third = score_item(_item(), _answer(["a", "b", ROW], n_cited=3))
    assert cited_third["hit@1"] == 0.0 and cited_third["hit@5"] == 1.0 and cited_third["mrr"] == pytest.approx(1 / 3)
    related = score_item(_item(), _answer(["a", ROW], n_cited=1), retrieved=["a", ROW])
    assert related["hit@1"] == related["hit@5"] == related["mrr"] == 0.0 and related["rank"] is None
    assert related["retrieved@5"] == 1.0 and "retrieved@5" not in cited_third
    missed = score_item(_item(), _answer(["a"]), retrieved=["a", "b", "c", "d", "e", ROW])  # rank 6: outside
    assert missed["retrieved@5"] == 0.0
    refused = score_item(_item(), _answer([], answerable=False), retrieved=[ROW])
    assert refused["hit@5"] == 0.0 and refused["fact_recall"] == 0.0 and refused["retrieved@5"] == 1.0


def test_ndcg_at_direct():
    assert ndcg_at([]) == 0.0
    assert ndcg_at([False, False, True]) == pytest.approx(0.5)
    assert ndcg_at([True, True]) == pytest.approx(1.0)
    assert ndcg_at([False, True], k=1) == 0.0


def test_ndcg_excluded_for_unanswerable_and_in_summary():
    una = score_item(_item("unanswerable"), _answer([ROW]))
    assert "ndcg@10" not in una
    first = score_item(_item(), _answer([ROW]))
    third = score_item(_item(), _answer(["a", "b", ROW], n_cited=3))

    def row(cat, m):
        return {"category": cat, "metrics": m, "latency_ms": 1.0, "citations": []}

    s = summarize([row("figure", first), row("figure", third), row("unanswerable", una)])
    assert s["ndcg@10"] == pytest.approx(0.75)
    assert s["hit@1"] == pytest.approx(0.5) and s["mrr"] == pytest.approx((1 + 1 / 3) / 2, abs=1e-4)
    # rows from runs scored before ndcg@10 existed do not break summarize
    old = {k: v for k, v in first.items() if k != "ndcg@10"}
    assert summarize([row("figure", old)])["ndcg@10"] is None
