"""The relevance gate: do the retrieved passages answer the question? A refusal, or nothing.

    check(query, hits) -> Refusal | None, refusing when
      1. nothing was retrieved;
      2. the question names a place, person or organisation the library never mentions;
      3. none of the question's specific terms (not corpus-wide words such as 长沙, 规划) is in the top passages;
      4. the best passages cover little of the question and the vector match is not close either;
      5. no sentence holds what is asked: an amount, a phone number, a deadline, the question's year/number;
      6. the sentence with the asked year/figure is about something else than the best match.
The answerer (extractive or LLM) only runs when the gate lets the question through.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from assistant.evidence import Candidate, candidates
from assistant.query import Query
from assistant.relevance import QueryTerms, TermStats, Thresholds, coverage, period_years, present_terms, provides, \
    specific_terms
from retrieval.passage import Hit


@dataclass
class Refusal:
    reason: str  # why, for notices and eval reports ("low relevance", "深圳 is not mentioned in the documents")


class Gate(Protocol):
    def check(self, query: Query, hits: list[Hit]) -> Refusal | None: ...


def usable(terms: QueryTerms, cands: list[Candidate], specific: set[str] = frozenset()) -> list[Candidate]:
    """The candidates that hold every asked-for answer type and every year/number of the question; when a
    type of value is asked for, the sentence (or its own heading) must also name the asked subject — one
    of the question's `specific` terms — so a figure about something else never answers."""
    def about_subject(c: Candidate) -> bool:
        heading = c.hit.passage.section[-1] if c.hit.passage.section else ""
        return not specific or bool(present_terms(terms, f"{c.sentence} {heading}") & specific)

    return [c for c in cands if provides(terms, f"{c.sentence} {c.hit.passage.section_path}",
                                         period_years(c.hit.passage.meta.get("period")))
            and (not terms.asked_types or about_subject(c))]


class RuleGate:
    """The rules above, with thresholds calibrated on the dev set."""

    def __init__(self, stats: TermStats, thresholds: Thresholds | None = None):
        self.stats = stats
        self.thresholds = thresholds or Thresholds()

    def check(self, query: Query, hits: list[Hit]) -> Refusal | None:
        terms, th = query.terms, self.thresholds
        cands = candidates(terms, hits)
        if not hits or not cands:
            return Refusal("nothing retrieved")
        if terms.unknown_names:
            return Refusal(f"{'、'.join(terms.unknown_names)} is not mentioned in the documents")
        if not self.on_topic(terms, hits):
            return Refusal("none of the question's specific terms occurs in the retrieved text")
        feats = self.features(terms, hits)
        if feats["coverage"] < th.min_coverage and feats["dense"] < th.min_dense:
            return Refusal("low relevance")
        found = usable(terms, cands, specific_terms(terms, self.stats, th.specific_df_share))
        if not found:
            asked = "/".join(terms.asked_types) or "figure"
            return Refusal(f"no sentence holds the asked {asked} about the asked subject")
        if (terms.years or terms.numbers) and \
                found[0].topic_coverage < th.specific_ratio * max(c.topic_coverage for c in cands[:5]):
            return Refusal("the best-matching text lacks the asked year or figure")
        return None

    def on_topic(self, terms: QueryTerms, hits: list[Hit]) -> bool:
        """At least one specific term of the question (not a corpus-wide word such as 长沙 or 规划)
        occurs in the top passages. Off-topic questions (天气, 房价, 地铁) fail here even when the
        embedder, which rates most pairs 0.8-0.9, finds the plan "similar"."""
        specific = specific_terms(terms, self.stats, self.thresholds.specific_df_share)
        if not specific:
            return True
        present: set[str] = set()
        for h in hits[:3]:
            present |= present_terms(terms, h.passage.index_text)
        return bool(specific & present)

    @staticmethod
    def features(terms: QueryTerms, hits: list[Hit]) -> dict:
        """Term coverage of the best of the top 3 passages, their best vector match, the top score."""
        best = hits[0] if hits else None
        cov = max((coverage(terms, h.passage.index_text) for h in hits[:3]), default=0.0)
        dense = max((h.sources.get("dense", 0.0) for h in hits[:3]), default=0.0)
        return {"coverage": round(cov, 4), "dense": round(dense, 4), "top_score": round(best.score, 4) if best else 0.0}
