"""Each answer-quality mechanism's contribution: the same set run with one mechanism switched off at a time.

    python -m evals ablation evals/sets/plan_dev.jsonl [--out DIR]
Configurations (settings overridden on the loaded index, nothing rebuilt): all mechanisms; without the learned
abstention (PA_ABSTAIN=false: always answer from the best evidence); without structure-aware lists
(PA_LIST_ANSWERS=false); without multi-part splitting (PA_MULTIPART=false); without the colloquial thesaurus
(PA_THESAURUS=false); without the English glossary (PA_EN_GLOSSARY=false). Extractive answers.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from evals.dataset import Item
from evals.metrics import by_category, summarize
from evals.runner import run_items

CONFIGS: dict[str, dict[str, Any]] = {
    "all mechanisms": {},
    "without learned abstention": {"abstain": False},
    "without structure-aware lists": {"list_answers": False},
    "without multi-part splitting": {"multipart": False},
    "without thesaurus": {"thesaurus": False},
    "without English glossary": {"en_glossary": False},
}
COLUMNS = ("hit@1", "hit@5", "retrieved@5", "fact_recall", "false_refusal", "refusal_acc")
CATEGORY_COLUMNS = (("english", "hit@1"), ("paraphrase", "hit@1"), ("list", "fact_recall"), ("multi", "fact_recall"))


def run_ablation(settings, items: list[Item], out: Path | None = None) -> dict[str, dict[str, Any]]:
    """{configuration: {metric: value}} for the configurations above."""
    import json

    from assistant.core import Assistant

    table: dict[str, dict[str, Any]] = {}
    for name, update in CONFIGS.items():
        assistant = Assistant.from_settings(settings.model_copy(update={"llm_base_url": None, **update}), build=False)
        rows = run_items(assistant, items)
        summary, cats = summarize(rows), by_category(rows)
        table[name] = {**{c: summary[c] for c in COLUMNS},
                       **{f"{cat} {m}": (cats.get(cat) or {}).get(m) for cat, m in CATEGORY_COLUMNS}}
        if out is not None:
            out.mkdir(parents=True, exist_ok=True)
            (out / f"{name.replace(' ', '-')}.jsonl").write_text(
                "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return table


def markdown(table: dict[str, dict[str, Any]]) -> str:
    cols = list(next(iter(table.values())))
    lines = ["| configuration | " + " | ".join(cols) + " |", "|---" * (len(cols) + 1) + "|"]
    for name, row in table.items():
        lines.append(f"| {name} | " + " | ".join("" if row[c] is None else f"{row[c]:.3f}" for c in cols) + " |")
    return "\n".join(lines)
