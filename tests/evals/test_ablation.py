"""The ablation command's table: one row per configuration, each switching one mechanism off."""
from __future__ import annotations

from evals.ablation import CONFIGS, markdown, run_ablation
from evals.dataset import Item


def test_ablation_rows(built_settings, tmp_path):
    items = [Item("A1", "十四五科技规划的基本原则有哪几条？", "list", ["人才为第一资源"], ["坚持人才为第一资源"]),
             Item("A2", "What does the plan say about new-energy vehicles?", "english", ["新能源汽车"], ["新能源汽车"]),
             Item("A3", "长沙的地铁票价是多少？", "unanswerable")]
    table = run_ablation(built_settings, items, tmp_path)
    assert list(table) == list(CONFIGS)
    assert table["all mechanisms"]["list fact_recall"] == 1.0
    assert table["without structure-aware lists"]["list fact_recall"] < 1.0  # one principle quoted, not five
    assert table["all mechanisms"]["refusal_acc"] == 1.0
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f"{n.replace(' ', '-')}.jsonl" for n in CONFIGS)
    assert markdown(table).count("\n") == len(CONFIGS) + 1
