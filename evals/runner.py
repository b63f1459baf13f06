"""Run an evaluation set through `Assistant.ask` (the code path users hit) and score it."""
from __future__ import annotations

import json
import platform
import time
from pathlib import Path
from typing import Any, Callable

from assistant.errors import AssistantError
from evals.dataset import Item
from evals.metrics import by_category, score_item, summarize


def history_for(item: Item, by_id: dict[str, Item], answers: dict[str, str]) -> list[dict[str, str]]:
    """The conversation before a follow-up: each earlier turn's question and the answer it got."""
    chain: list[Item] = []
    cur = item
    while cur.prev:
        cur = by_id[cur.prev]
        chain.append(cur)
    history: list[dict[str, str]] = []
    for turn in reversed(chain):
        history.append({"role": "user", "content": turn.question})
        history.append({"role": "assistant", "content": answers.get(turn.id, "")})
    return history


def retrieved_texts(assistant, standalone: str, k: int = 5) -> list[str] | None:
    """The top k passages the assistant retrieves for the (standalone) question, for retrieved@5."""
    try:
        return [h.passage.text for h in assistant.search(standalone, k)]
    except AssistantError:  # e.g. a rewritten follow-up longer than a question may be
        return None


def run_items(assistant, items: list[Item], on_item: Callable[[int, int], None] | None = None,
              rows: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """Ask every item; rows are appended as they complete (so an interrupted run keeps what it did)."""
    by_id = {i.id: i for i in items}
    answers: dict[str, str] = {}
    rows = [] if rows is None else rows
    for n, item in enumerate(items, start=1):
        history = history_for(item, by_id, answers)
        t0 = time.perf_counter()
        ans = assistant.ask(item.question, history=history).to_dict()
        latency = (time.perf_counter() - t0) * 1000
        answers[item.id] = ans["answer"]
        retrieved = retrieved_texts(assistant, ans["standalone_question"] or item.question)
        rows.append({
            "id": item.id, "category": item.category, "question": item.question,
            "standalone_question": ans["standalone_question"], "answer": ans["answer"],
            "answerable": ans["answerable"], "notices": ans["notices"],
            "citations": ans["citations"], "related": ans["related"],
            "retrieved_ids": [c["passage_id"] for c in ans["citations"] + ans["related"]],
            "expected_facts": item.answer_facts, "evidence": item.evidence,
            "metrics": score_item(item, ans, retrieved), "latency_ms": round(latency, 2),
        })
        if on_item:
            on_item(n, len(items))
    return rows


def write_run(out_dir: Path, rows: list[dict[str, Any]], settings: dict[str, Any]) -> dict[str, Any]:
    out_dir.mkdir(parents=True, exist_ok=True)
    with (out_dir / "results.jsonl").open("w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    summary = {
        "metrics": summarize(rows),
        "by_category": by_category(rows),
        "settings": settings,
        "python": platform.python_version(),
    }
    (out_dir / "summary.json").write_text(json.dumps(summary, ensure_ascii=False, indent=2), encoding="utf-8")
    return summary
