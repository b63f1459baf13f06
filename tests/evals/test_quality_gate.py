"""The dev set through the user code path must meet the foundation issue's quality bars.

Speed is not asserted here (that is `python -m evals bench`); these are accuracy bars only.
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
        ("hit@1", 0.80, True),
        ("hit@5", 0.95, True),
        ("fact_recall", 0.85, True),
        ("refusal_acc", 0.85, True),
        ("false_refusal", 0.05, False),
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
