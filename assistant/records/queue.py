"""The review queue: the logged questions grouped by meaning (similar questions in one group: count, first
and last seen, examples), with the curated answers that need review.

Grouping is greedy, newest first: a question joins the first group whose first question is close enough
(`assistant.records.curated.similarity` >= the threshold of curated answers), else starts one. Identical
texts are compared once.
"""
from __future__ import annotations

from typing import Any

from assistant.records.curated import similarity

EXAMPLES = 5


def group(rows: list[dict[str, Any]], assistant, min_similarity: float) -> list[dict[str, Any]]:
    """rows: questions (assistant.records.questions.as_dict), newest first -> groups, the largest first."""
    groups: list[dict[str, Any]] = []
    keys: list[tuple[Any, Any]] = []  # (query, vector) of each group's first question
    seen: dict[str, int] = {}  # question text -> its group
    for r in rows:
        text = r["standalone"] or r["question"]
        g = seen.get(text)
        if g is None:
            query = assistant.understand(text[:assistant.settings.max_question_chars])
            vector = assistant.searcher.dense.query_vector(query.standalone)
            g = next((i for i, (q, v) in enumerate(keys)
                      if similarity(q, query, float(v @ vector)) >= min_similarity), None)
            if g is None:
                g = len(groups)
                keys.append((query, vector))
                groups.append({"question": text, "count": 0, "refused": 0, "downvoted": 0, "curated": 0,
                               "first_seen": r["time"], "last_seen": r["time"], "examples": [], "channels": {},
                               "question_ids": []})
            seen[text] = g
        e = groups[g]
        e["count"] += 1
        e["refused"] += int(r["refused"])
        e["downvoted"] += int(r["vote"] == "down")
        e["curated"] += int(r["source"] == "curated")
        e["first_seen"] = min(e["first_seen"], r["time"])
        e["last_seen"] = max(e["last_seen"], r["time"])
        e["channels"][r["channel"]] = e["channels"].get(r["channel"], 0) + 1
        if r["question"] not in e["examples"] and len(e["examples"]) < EXAMPLES:
            e["examples"].append(r["question"])
        if len(e["question_ids"]) < 50:
            e["question_ids"].append(r["id"])
    return sorted(groups, key=lambda e: (e["count"], e["last_seen"]), reverse=True)
