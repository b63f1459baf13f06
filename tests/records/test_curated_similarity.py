"""PA_CURATED_MIN_SIMILARITY, calibrated on evals/sets/curated_paraphrases.jsonl (questions about the plan,
each with paraphrases that must be caught and different questions, close in wording, that must not be):
at the default threshold no different question is caught, and most paraphrases are."""
from __future__ import annotations

import json

from assistant.records.curated import similarity
from assistant.settings import PROJECT_ROOT, Settings

SET = PROJECT_ROOT / "evals" / "sets" / "curated_paraphrases.jsonl"


def scores(assistant, key: str) -> list[tuple[float, str, str]]:
    vector = assistant.searcher.dense.query_vector
    out = []
    for line in SET.read_text(encoding="utf-8").splitlines():
        group = json.loads(line)
        base = assistant.understand(group["question"])
        for other in group[key]:
            cosine = float(vector(group["question"]) @ vector(other))
            out.append((similarity(base, assistant.understand(other), cosine), group["question"], other))
    return out


def test_the_default_threshold_catches_no_different_question_and_most_paraphrases(assistant):
    threshold = Settings.model_fields["curated_min_similarity"].default
    different, paraphrases = scores(assistant, "different"), scores(assistant, "paraphrases")
    assert len(different) >= 30 and len(paraphrases) >= 20
    caught = [d for d in different if d[0] >= threshold]
    assert not caught, caught
    recall = sum(p[0] >= threshold for p in paraphrases) / len(paraphrases)
    print(f"[curated] threshold {threshold}: different max {max(d[0] for d in different):.3f}, "
          f"paraphrases caught {recall:.0%}")
    assert recall >= 0.6, sorted(paraphrases)


def test_identical_questions_score_near_one_and_other_years_zero(assistant):
    vector = assistant.searcher.dense.query_vector
    q = "到2025年高新技术企业数量目标是多少？"
    same = assistant.understand(q)
    assert similarity(same, same, float(vector(q) @ vector(q))) > 0.95
    other = "到2020年高新技术企业数量是多少？"
    assert similarity(same, assistant.understand(other), float(vector(q) @ vector(other))) == 0.0
