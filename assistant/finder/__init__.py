"""Support finder (政策匹配): from a profile to the measures of the documents that apply, with citations.

    finder = Finder.from_passages(passages)            # measures extracted by rules + vocabulary
    result = finder.match(Profile("enterprise", qualifications=["高新技术企业"], industry="生物医药"))
    result["groups"]                                     # [{"kind": "资金奖补", "measures": [...]}, ...]

Measures from documents that are no longer in force are left out (retrieval.validity).
"""
from __future__ import annotations

from datetime import date
from typing import Any

from assistant.finder.extract import Measure, extract_measures
from assistant.finder.match import MAX_MEASURES, MatchResult, match
from assistant.finder.profile import Profile, profile_from_text, read_facts
from assistant.finder.vocab import Vocabulary, load_vocabulary
from retrieval.passage import Passage
from retrieval.validity import is_active

__all__ = ["Finder", "Measure", "MatchResult", "Profile", "profile_from_text", "load_vocabulary"]


class Finder:
    def __init__(self, measures: list[Measure], passages: dict[str, Passage], vocab: Vocabulary):
        self.measures = measures
        self.passages = passages
        self.vocab = vocab

    @classmethod
    def from_passages(cls, passages: list[Passage], vocab: Vocabulary | None = None,
                      measures: list[Measure] | None = None) -> "Finder":
        vocab = vocab or load_vocabulary()
        if measures is None:
            measures = extract_measures(passages, vocab)
        return cls(measures, {p.id: p for p in passages}, vocab)

    def match_result(self, profile: Profile, limit: int = MAX_MEASURES, today: date | None = None) -> MatchResult:
        facts = read_facts(profile, self.vocab)
        active = [m for m in self.measures
                  if m.passage_id in self.passages and is_active(self.passages[m.passage_id].meta, today)]
        return match(active, facts, self.vocab, limit)

    def match(self, profile: Profile, limit: int = MAX_MEASURES, today: date | None = None) -> dict[str, Any]:
        result = self.match_result(profile, limit, today)
        measures = [self._with_text(r.to_dict()) for r in result.measures]
        by_id = {m["id"]: m for m in measures}
        return {
            "profile": {"entity_type": profile.entity_type, "recognised": {
                "targets": sorted(t for t in result.facts.targets if not self.vocab.target(t).generic),
                "industries": sorted(result.facts.industries), "places": sorted(result.facts.places)}},
            "measures": measures,
            "groups": [{"kind": kind, "measures": [by_id[r.measure.id] for r in items]}
                       for kind, items in result.groups(self.vocab.kind_order)],
            "considered": result.considered,
        }

    def _with_text(self, d: dict[str, Any]) -> dict[str, Any]:
        p = self.passages.get(d["citation"]["passage_id"])
        if p is not None:
            d["citation"]["text"] = p.text
        return d
