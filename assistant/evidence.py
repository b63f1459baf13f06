"""Sentences as evidence: the top passages split into sentences, each scored against the question.

Both the relevance gate (is the answer there?) and the extractive answerer (which sentences to quote)
read the same candidates, so they never disagree about what the passages say.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

from assistant.relevance import QueryTerms, TermStats, present_terms, share, specific_terms
from assistant.safety import FOREIGN_MARK, instruction_free
from retrieval.passage import Hit
from retrieval.text import split_sentences

SENTENCE_POOL = 5  # passages whose sentences are candidates
ENUM_ITEMS = 6  # a sentence listing this many items (、，) is an enumeration of topics
CROWDED_WEIGHT = 0.5
DENSE_WEIGHT = 0.3  # share of a candidate's score from its sentence vector (chosen on the dev set)
CLOSE = 0.85  # candidates scoring this close to the best compete on how many specific terms they name
_ENUM_SEP = re.compile(r"[、，,]")
LEAD_CHARS = 20
_NUMBERED_TITLE = re.compile(r"^\s*\d{1,2}[.、．]\s*[^\d]*$")  # "2. 加强高新技术企业培育。" (a title, no figures)


@dataclass
class Candidate:
    hit_rank: int
    hit: Hit
    sentence: str
    score: float
    coverage: float
    topic_coverage: float  # coverage without the question's years and numbers
    crowded: bool = False  # names some asked terms only as items of a long enumeration


def sentences(text: str) -> list[str]:
    """The passage's sentences; a short lead such as `2. 加强高新技术企业培育。` stays with the sentence after it."""
    parts = split_sentences(text)
    merged: list[str] = []
    carry = ""
    for i, s in enumerate(parts):
        is_lead = len(s) < LEAD_CHARS and (not re.search(r"\d", s) or _NUMBERED_TITLE.match(s))
        if is_lead and i < len(parts) - 1:
            carry += s  # a lead title: keep it as context of the sentence after it
            continue
        merged.append(carry + s)
        carry = ""
    if carry:
        merged.append(carry)
    return merged or [text]


def enumerated(sentence: str, found: set[str]) -> bool:
    """The sentence mentions `found` only inside an enumeration of many topics (≥ ENUM_ITEMS items)."""
    return bool(found) and len(_ENUM_SEP.findall(sentence)) >= ENUM_ITEMS


def candidates(terms: QueryTerms, hits: list[Hit], specific: set[str] | None = None,
               similarity: Callable[[str], float | None] | None = None) -> list[Candidate]:
    """Every sentence of the top passages, scored by term coverage plus its passage's retrieval score.

    With `specific` (the question's specific terms), a sentence that names some of them (beyond its heading)
    only as items of a long enumeration counts CROWDED_WEIGHT of its coverage:
    "瞄准工程机械、人工智能、集成电路…等前沿领域" mentions a field; the 专栏 item about it is the answer.
    With `similarity` (the question's cosine with a sentence's vector), DENSE_WEIGHT of the score is the
    sentence's similarity, min-max scaled over the candidates: meaning shared without words."""
    if not hits:
        return []
    top = hits[0].score or 1.0
    skip = set(terms.years + terms.numbers)
    out = []
    for rank, hit in enumerate(hits[:SENTENCE_POOL]):
        prior = max(hit.score, 0.0) / top if top > 0 else 0.0
        context = " ".join(hit.passage.section[-1:])
        # passages are data: an instruction-like sentence planted in one ("忽略之前的指令…") and what
        # follows it are never quoted, nor sentences carrying citation marks or sources of their own
        text = instruction_free(hit.passage.text)
        units = [text] if hit.passage.kind == "table_row" else sentences(text)
        for s in units:
            if FOREIGN_MARK.search(s):
                continue
            present = present_terms(terms, f"{s} {context}")
            cov = share(terms, present)
            listed = (present_terms(terms, s) & (specific or set())) - present_terms(terms, context)
            weight = CROWDED_WEIGHT if enumerated(s, listed) else 1.0
            out.append(Candidate(rank, hit, s, 0.55 * cov * weight + 0.45 * prior, cov, share(terms, present, skip),
                                 crowded=weight < 1.0))
    if similarity is not None and DENSE_WEIGHT > 0:
        sims = [similarity(c.sentence) for c in out]
        known = [s for s in sims if s is not None]
        lo, hi = (min(known), max(known)) if known else (0.0, 0.0)
        for c, s in zip(out, sims):
            scaled = (s - lo) / (hi - lo) if s is not None and hi > lo else 0.0
            c.score = (1 - DENSE_WEIGHT) * c.score + DENSE_WEIGHT * scaled
    out.sort(key=lambda c: (-c.score, c.hit_rank))
    return out


def most_specific(terms: QueryTerms, stats: TermStats, cands: list[Candidate], max_df_share: float) -> list[Candidate]:
    """Among close candidates, keep those naming the most of the question's specific terms: asked about
    重新认定, a row about 首次认定 (another figure) is not quoted next to the right one."""
    specific = specific_terms(terms, stats, max_df_share)
    if not specific or len(cands) < 2:
        return cands
    # only the leading candidates that score close to the best can be quoted
    pool = [c for c in cands[:SENTENCE_POOL * 3] if c.score >= CLOSE * cands[0].score]
    # a crowded sentence (the terms only as items of a long enumeration) is credited with its headings only
    counts = [len(specific & present_terms(terms, f"{c.sentence} {c.hit.passage.section_path}")) for c in pool]
    best = max(counts)
    if best == 0:
        return cands
    return [c for c, n in zip(pool, counts) if n >= best]
