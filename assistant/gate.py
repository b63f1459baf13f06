"""The relevance gate: do the retrieved passages answer the question? A refusal, or nothing.

    RuleGate.check(query, hits) -> Refusal | None, refusing when
      judged: 1. nothing was retrieved;
              2. the question names a place, person or organisation the library never mentions (names are
                 read from the question as typed, minus what the vocabulary knows: 缺钱 is no name);
              3. none of the question's specific terms (not corpus-wide words such as 长沙, 规划) is in the
                 top passages;
              4. the best passages cover little of the question and the vector match is not close either;
      typed:  5. no sentence holds a value of the asked type (amount, percentage, count, year, date, deadline,
                 duration, place, contact, procedure: `assistant.answer_types`) about the asked subject,
                 or the question's own year/number;
              6. the sentence with the asked year/figure is about something else than the best match.
    LLMGate (an LLM is configured): the typed checks, then the model's JSON verdict instead of 2-4.
The answerer (extractive or LLM) only runs when the gate lets the question through.
"""
from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from typing import Protocol

from assistant.errors import LLMError
from assistant.evidence import Candidate, candidates
from assistant.llm import LLMClient
from assistant.prompt import VERDICT_SYSTEM, judged_messages
from assistant.query import Query
from assistant.sentence_vectors import SentenceMatcher
from assistant.relevance import QueryTerms, TermStats, Thresholds, coverage, period_years, present_terms, provides, \
    specific_terms
from retrieval.passage import Hit

log = logging.getLogger(__name__)
_JSON = re.compile(r"\{.*\}", re.S)


STRONG_MATCH = 3.5  # z-score of the best sentence's similarity among all sentences (assistant.sentence_vectors)
SUBJECT_SHARE = 0.5  # a typed value answers when its sentence names this share of the question's specific terms


@dataclass
class Refusal:
    reason: str  # why, for notices and eval reports ("low relevance", "深圳 is not mentioned in the documents")


class Gate(Protocol):
    def check(self, query: Query, hits: list[Hit]) -> Refusal | None: ...


def usable(terms: QueryTerms, cands: list[Candidate], specific: set[str] = frozenset()) -> list[Candidate]:
    """The candidates that hold every asked-for answer type and every year/number of the question; when a
    type of value is asked for, the sentence (or its own heading) must also name the asked subject — one
    of the question's `specific` terms — so a figure about something else never answers."""
    total = sum(terms.weights[t] for t in specific)

    def about_subject(c: Candidate) -> bool:  # most of the subject's weight is named where the value stands
        heading = c.hit.passage.section[-1] if c.hit.passage.section else ""
        named = present_terms(terms, f"{c.sentence} {heading}") & specific
        return not specific or sum(terms.weights[t] for t in named) >= SUBJECT_SHARE * total

    return [c for c in cands if provides(terms, f"{c.sentence} {c.hit.passage.section_path}",
                                         period_years(c.hit.passage.meta.get("period")))
            and (not terms.asked_types or about_subject(c))]


class RuleGate:
    """The rules above, with thresholds calibrated on the dev set."""

    def __init__(self, stats: TermStats, thresholds: Thresholds | None = None, matcher: SentenceMatcher | None = None):
        self.stats = stats
        self.thresholds = thresholds or Thresholds()
        self.matcher = matcher  # sentence vectors: a strong semantic match overrides rules 3-4

    def check(self, query: Query, hits: list[Hit]) -> Refusal | None:
        return self.judged(query, hits) or self.typed(query, hits)

    def judged(self, query: Query, hits: list[Hit]) -> Refusal | None:
        """The rules that judge what the question is about (an LLM verdict replaces them, see LLMGate)."""
        terms, th = query.terms, self.thresholds
        if not hits:
            return Refusal("nothing retrieved")
        if terms.unknown_names:
            return Refusal(f"{'、'.join(terms.unknown_names)} is not mentioned in the documents")
        lexical = None
        if not self.on_topic(terms, hits):
            lexical = Refusal("none of the question's specific terms occurs in the retrieved text")
        else:
            feats = self.features(terms, hits)
            if feats["coverage"] < th.min_coverage and feats["dense"] < th.min_dense:
                lexical = Refusal("low relevance")
        if lexical is not None and self.matcher is not None and self.matcher.standout(query.expanded) >= STRONG_MATCH:
            return None  # words differ, meaning matches: a sentence stands out from the whole library
        return lexical

    def typed(self, query: Query, hits: list[Hit]) -> Refusal | None:
        """The typed checks: a sentence holds a value of the asked type about the asked subject, and the
        question's year or figure."""
        terms, th = query.terms, self.thresholds
        cands = candidates(terms, hits)
        if not cands:
            return Refusal("nothing retrieved")
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


class LLMGate:
    """With an LLM configured: the rules keep only their typed checks; whether the passages answer at all is
    the model's structured verdict (JSON). A model that fails or answers in another shape leaves the
    decision to all the rules."""

    def __init__(self, rules: RuleGate, llm: LLMClient, context_passages: int = 5):
        self.rules = rules
        self.llm = llm
        self.context_passages = context_passages

    def check(self, query: Query, hits: list[Hit]) -> Refusal | None:
        if not hits:
            return Refusal("nothing retrieved")
        refusal = self.rules.typed(query, hits)
        if refusal is not None:
            return refusal
        given = [h.passage for h in hits[:self.context_passages]]
        try:
            reply = self.llm.complete(judged_messages(VERDICT_SYSTEM, query.standalone, given), max_tokens=160)
            verdict = json.loads(_JSON.search(reply).group(0))
            answerable = verdict["answerable"]
            if not isinstance(answerable, bool):
                raise TypeError(f"answerable={answerable!r}")
        except (LLMError, AttributeError, KeyError, TypeError, ValueError) as exc:
            log.info("LLM verdict failed (%s); the rules decide", exc)
            return self.rules.check(query, hits)
        if answerable:
            return None
        reason = str(verdict.get("reason") or "")[:200]
        return Refusal(f"the language model found no answer in the passages{': ' + reason if reason else ''}")
