"""Evaluation items (JSONL, one object per line) and their validation."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

CATEGORIES = {"figure", "list", "fact", "paraphrase", "english", "multi", "unanswerable", "followup"}


class DatasetError(ValueError):
    pass


@dataclass
class Item:
    id: str
    question: str
    category: str
    answer_facts: list[str] = field(default_factory=list)
    evidence: list[str] = field(default_factory=list)
    prev: str | None = None

    @property
    def answerable(self) -> bool:
        return self.category != "unanswerable"


def load_jsonl(path: Path) -> list[Item]:
    items: list[Item] = []
    seen: set[str] = set()
    for lineno, line in enumerate(Path(path).read_text(encoding="utf-8-sig").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DatasetError(f"{path}:{lineno}: not valid JSON ({exc.msg})") from exc
        try:
            item = Item(
                id=str(raw["id"]), question=str(raw["question"]), category=str(raw.get("category", "fact")),
                answer_facts=list(raw.get("answer_facts", [])), evidence=list(raw.get("evidence", [])),
                prev=raw.get("prev"),
            )
        except KeyError as exc:
            raise DatasetError(f"{path}:{lineno}: missing field {exc.args[0]!r}") from exc
        if not item.question.strip():
            raise DatasetError(f"{path}:{lineno}: empty question")
        if item.category not in CATEGORIES:
            raise DatasetError(f"{path}:{lineno}: category {item.category!r}; allowed: {', '.join(sorted(CATEGORIES))}")
        if item.prev is not None and item.prev not in seen:
            raise DatasetError(f"{path}:{lineno}: prev {item.prev!r} is not an earlier item id")
        if item.id in seen:
            raise DatasetError(f"{path}:{lineno}: duplicate id {item.id!r}")
        seen.add(item.id)
        items.append(item)
    if not items:
        raise DatasetError(f"{path}: no items")
    return items
