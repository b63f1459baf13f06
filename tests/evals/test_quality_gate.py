"""The dev set through the user code path must meet the quality bars: a guard against regressions.

The dev set is training data of the evidence model (evals/train.py), so these bars sit a little below what
the model gives on it; the numbers that judge the model are the cross-validated and sealed-set ones (README,
Evaluation). The refusal bar follows the calibration: the threshold refuses at most 3 % of answerable training
questions, and at that point about half of the unanswerable ones (cross-validated). Speed is not asserted
here (that is `python -m evals bench`).
"""
from __future__ import annotations

from pathlib import Path

import pytest

from evals.dataset import load_jsonl
from evals.metrics import summarize
from evals.runner import run_items

DEV_SET = Path(__file__).resolve().parents[2] / "evals" / "sets" / "plan_dev.jsonl"


@pytest.fixture(scope="module")
def dev_metrics(assistant):
    rows = run_items(assistant, load_jsonl(DEV_SET))
    return summarize(rows)


@pytest.mark.parametrize(
    "metric,bound,higher_is_better",
    [
        ("hit@1", 0.88, True),
        ("hit@5", 0.92, True),
        ("fact_recall", 0.88, True),
        ("refusal_acc", 0.45, True),
        ("false_refusal", 0.03, False),
        ("median_citation_chars", 300, False),
    ],
)
def test_dev_set_quality(dev_metrics, metric, bound, higher_is_better):
    value = dev_metrics[metric]
    assert value is not None
    if higher_is_better:
        assert value >= bound, f"{metric}={value} < {bound}: {dev_metrics}"
    else:
        assert value <= bound, f"{metric}={value} > {bound}: {dev_metrics}"
