"""Integrity checks for the evaluation dev set (evals/sets/plan_dev.jsonl).

Every evidence string and every answer fact must be traceable to the plan text,
after NFKC normalisation and removal of all whitespace (so page-break splits and
full-/half-width punctuation differences do not matter).
"""
import json
import re
import unicodedata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DEV_SET = ROOT / "evals" / "sets" / "plan_dev.jsonl"
DOC = ROOT / "corpus" / "changsha-sti-plan-2021-2025.txt"

CATEGORIES = {
    "figure", "list", "fact", "paraphrase", "english", "multi", "unanswerable", "followup",
}


def _norm(s: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", s))


@pytest.fixture(scope="module")
def items():
    rows = []
    with DEV_SET.open(encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if line.strip():
                rows.append(json.loads(line))
    return rows


@pytest.fixture(scope="module")
def doc_norm():
    return _norm(DOC.read_text(encoding="utf-8"))


def test_size(items):
    assert len(items) >= 60


def test_ids_unique(items):
    ids = [it["id"] for it in items]
    assert len(ids) == len(set(ids))


def test_categories_valid(items):
    bad = [(it["id"], it.get("category")) for it in items if it.get("category") not in CATEGORIES]
    assert not bad, bad


def test_required_fields(items):
    for it in items:
        assert isinstance(it.get("question"), str) and it["question"].strip(), it["id"]
        assert isinstance(it.get("answer_facts"), list), it["id"]
        assert isinstance(it.get("evidence"), list), it["id"]


def test_prev_refers_to_earlier_id(items):
    seen = set()
    for it in items:
        if "prev" in it:
            assert it["prev"] in seen, f'{it["id"]}: prev {it["prev"]!r} is not an earlier id'
        seen.add(it["id"])


def test_followups_have_prev(items):
    for it in items:
        if it["category"] == "followup":
            assert "prev" in it, it["id"]


def test_answerable_vs_unanswerable(items):
    for it in items:
        if it["category"] == "unanswerable":
            assert it["answer_facts"] == [] and it["evidence"] == [], it["id"]
        else:
            assert len(it["evidence"]) >= 1, it["id"]
            assert len(it["answer_facts"]) >= 1, it["id"]


def test_evidence_in_document(items, doc_norm):
    missing = [
        (it["id"], ev)
        for it in items
        for ev in it["evidence"]
        if not _norm(ev) or _norm(ev) not in doc_norm
    ]
    assert not missing, missing


def test_answer_facts_in_document(items, doc_norm):
    missing = [
        (it["id"], fact)
        for it in items
        if it["category"] != "unanswerable"
        for fact in it["answer_facts"]
        if not _norm(fact) or _norm(fact) not in doc_norm
    ]
    assert not missing, missing
