"""Evidence candidates and their features: computed once per request, read by the learned scorer.

A candidate is one sentence of one of the fused top-N passages (a table row is one sentence). What a passage
says includes where it stands: its section path and its document's title, issuer and region count as the
sentence's context. Every feature is a number; FEATURES names them in the order of a row.

    passage level   fused score (relative to the best) and rank, BM25 and dense scores (relative), the
                    question's specific terms in the heading/section path and in the document's title/metadata,
                    the passage's coverage of the question
    sentence level  coverage of all / of the specific terms (sentence + heading + title), sentence-vector
                    similarity (and its margin to the best sentence), an asked kind of value present,
                    the question's years and numbers present, length, table row
    question level  the question asks a kind of value, a list; names a place or organisation the library never
                    mentions; how many terms it has; how far its best sentence stands out from the library; the
                    share of its terms the library never uses, of its specific terms the top 3 passages do not
                    name, and the rarest of those
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, replace
from typing import Callable

import numpy as np

from assistant.language.values import holds
from assistant.pipeline.sentences import sentences
from assistant.pipeline.understand import Query
from assistant.language.terms import present_terms, share, specific_terms
from assistant.language.requirements import period_years, provides
from assistant.language.stats import TermStats
from assistant.language.safety import FOREIGN_MARK, instruction_free
from retrieval.passage import Hit, Passage
from retrieval.text import normalize

POOL = 20  # fused passages whose sentences are candidates
META_KEYS = ("issuer", "region", "doc_number")

FEATURES = (
    "fused", "fused_rank", "bm25", "dense", "dense_gap", "head", "title", "passage_cov", "passage_spec",
    "sent_cov", "sent_spec", "ctx_spec", "sim", "sim_gap", "type_asked", "type_held", "numbers_ok",
    "length", "table_row", "q_list", "q_unknown_name", "q_terms", "q_latin", "q_standout",
    "q_absent", "q_missing3", "q_missing_max",
)


@dataclass
class Candidate:
    hit: Hit
    hit_rank: int
    sentence: str
    position: int  # the sentence's place in its passage (ties: the earlier passage, then the earlier sentence)
    x: np.ndarray = field(repr=False)
    score: float = 0.0


@dataclass
class IndexFacts:
    """What the features need of the whole index, computed once per index (not per request)."""

    stats: TermStats
    doc_context: dict[str, str]  # doc_id -> its title, issuer, region, number (where a passage stands)
    names_text: str  # every document's title and metadata: a name found here is no unknown name

    @classmethod
    def of(cls, passages: list[Passage], stats: TermStats) -> "IndexFacts":
        ctx: dict[str, str] = {}
        for p in passages:
            if p.doc_id not in ctx:
                ctx[p.doc_id] = " ".join([p.doc_title] + [str(p.meta.get(k) or "") for k in META_KEYS]).strip()
        return cls(stats, ctx, normalize(" ".join(ctx.values())).lower())


def _units(p: Passage) -> list[str]:
    # passages are data: an instruction-like sentence planted in one ("忽略之前的指令…") and what follows it are
    # never candidates, nor sentences carrying citation marks or sources of their own
    text = instruction_free(p.text)
    units = [text] if p.kind == "table_row" else sentences(text)
    return [s for s in units if s.strip() and not FOREIGN_MARK.search(s)]


def _rel(value: float, best: float) -> float:
    return max(value, 0.0) / best if best > 0 else 0.0


def candidates(query: Query, hits: list[Hit], facts: IndexFacts,
               similarity: Callable[[str], float | None] | None = None, standout: float = 0.0) -> list[Candidate]:
    """Every sentence of the top POOL hits with its feature row."""
    hits = hits[:POOL]
    if not hits:
        return []
    terms, stats = query.terms, facts.stats
    specific = specific_terms(terms, stats)
    spec_total = sum(terms.weights[t] for t in specific)
    no_types = replace(terms, asked_types=[])

    def spec_share(found: set[str]) -> float:
        return sum(terms.weights[t] for t in found & specific) / spec_total if spec_total else 0.0

    top_fused = max(h.score for h in hits)
    top_bm25 = max(h.sources.get("bm25", 0.0) for h in hits)
    top_dense = max(h.sources.get("dense", 0.0) for h in hits)
    unknown = [n for n in terms.unknown_names if normalize(n).lower() not in facts.names_text]
    total = sum(terms.weights.values())
    absent = sum(w for t, w in terms.weights.items() if w >= stats.max_idf - 1e-9) / total if total else 0.0
    near: set[str] = set()  # what the top 3 passages name, with where they stand
    for h in hits[:3]:
        near |= present_terms(terms, f"{h.passage.index_text} {facts.doc_context.get(h.passage.doc_id, '')}")
    missing = specific - near
    q_row = [float(query.wants_list), float(bool(unknown)), math.log1p(len(terms.weights)), float(terms.latin),
             min(standout, 10.0) / 10.0, absent, 1.0 - spec_share(near),
             max((terms.weights[t] for t in missing), default=0.0) / stats.max_idf]
    type_asked = float(bool(terms.asked_types))
    rows: list[tuple[int, Hit, int, str, list[float]]] = []
    for rank, hit in enumerate(hits):
        p = hit.passage
        heading = p.section[-1] if p.section else ""
        title = facts.doc_context.get(p.doc_id, p.doc_title)
        head = spec_share(present_terms(terms, p.section_path))
        in_title = spec_share(present_terms(terms, title))
        passage_present = present_terms(terms, p.index_text)
        dense = hit.sources.get("dense", 0.0)
        p_row = [_rel(hit.score, top_fused), 1.0 / (1 + rank), _rel(hit.sources.get("bm25", 0.0), top_bm25),
                 dense, dense - top_dense, head, in_title, share(terms, passage_present), spec_share(passage_present)]
        years = period_years(p.meta.get("period"))
        for pos, s in enumerate(_units(p)):
            present = present_terms(terms, f"{s} {heading}")
            ctx_present = present | present_terms(terms, f"{p.section_path} {title}")
            held = float(all(holds(t, f"{s} {p.section_path}") for t in terms.asked_types)) if type_asked else 0.0
            s_row = [share(terms, present), spec_share(present), spec_share(ctx_present), 0.0, 0.0, type_asked,
                     held, float(provides(no_types, f"{s} {p.section_path}", years)),
                     math.log1p(len(s)) / 6.0, float(p.kind == "table_row")]
            rows.append((rank, hit, pos, s, p_row + s_row + q_row))
    if similarity is not None:
        sims = [similarity(s) for _, _, _, s, _ in rows]
        known = [v for v in sims if v is not None]
        best = max(known) if known else 0.0
        sim_i = FEATURES.index("sim")
        for (_, _, _, _, row), v in zip(rows, sims):
            row[sim_i] = v if v is not None else 0.0
            row[sim_i + 1] = (v - best) if v is not None else -1.0
    return [Candidate(hit, rank, s, pos, np.asarray(row, dtype=np.float64)) for rank, hit, pos, s, row in rows]


def matrix(cands: list[Candidate]) -> np.ndarray:
    return np.vstack([c.x for c in cands]) if cands else np.zeros((0, len(FEATURES)))


_SPACE = re.compile(r"\s+")


def _norm(text: str) -> str:
    return _SPACE.sub("", normalize(text))


def label(candidate: Candidate, evidence: list[str]) -> bool:
    """Training label: the sentence holds (or is part of) an evidence string of the item, in a passage that
    holds it. The scorer learns which sentence a person would cite."""
    passage = _norm(candidate.hit.passage.text)
    sent = _norm(candidate.sentence)
    for e in (_norm(e) for e in evidence):
        if e and e in passage and (e in sent or (len(sent) >= 8 and sent in e)):
            return True
    # a table row's evidence is its label, which may stand in the section path
    return candidate.hit.passage.kind == "table_row" and any(_norm(e) in _norm(candidate.hit.passage.index_text)
                                                             for e in evidence if e)


QUESTION_FEATURES = (
    "best", "second", "margin", "best_sent_spec", "best_ctx_spec", "best_passage_spec", "best_sim", "best_dense",
    "top5_ctx_spec", "top3_passage_spec", "type_missing", "numbers_missing", "q_unknown_name", "q_standout",
    "q_terms", "q_latin", "q_list", "q_absent", "q_missing3", "q_missing_max", "typed_about", "top3_cov",
    "top3_dense",
)


# How each question feature may move the decision (+1: more of it, more likely answerable; -1: less likely;
# 0: either way). The question model is fitted under these signs (evals.train.SignedLogistic): a question whose
# terms the library never uses, or whose asked value no top sentence holds, never looks more answerable for it.
QUESTION_SIGNS = {
    "best": 1, "second": 0, "margin": 1, "best_sent_spec": 1, "best_ctx_spec": 1, "best_passage_spec": 1,
    "best_sim": 1, "best_dense": 1, "top5_ctx_spec": 1, "top3_passage_spec": 1, "type_missing": -1,
    "numbers_missing": -1, "q_unknown_name": -1, "q_standout": 1, "q_terms": 0, "q_latin": 0, "q_list": 0,
    "q_absent": -1, "q_missing3": -1, "q_missing_max": -1, "typed_about": 1, "top3_cov": 1, "top3_dense": 1,
}


def _logit(p: float) -> float:
    p = min(max(p, 1e-6), 1 - 1e-6)
    return math.log(p / (1 - p))


def question_row(ranked: list[Candidate]) -> np.ndarray:
    """The abstention decision's features: the best candidates' scores (as logits) and what the best of them
    hold of the question (specific terms, the asked kind of value, its years and numbers, a name the library
    never mentions). `ranked`: the candidates best first, scored."""
    if not ranked:
        return np.zeros(len(QUESTION_FEATURES))
    f = {name: i for i, name in enumerate(FEATURES)}
    best, top5 = ranked[0], ranked[:5]
    second = ranked[1].score if len(ranked) > 1 else 0.0
    passages: dict[str, Candidate] = {}
    for c in ranked:
        passages.setdefault(c.hit.passage.id, c)
    top3 = list(passages.values())[:3]
    x = best.x
    row = [_logit(best.score), _logit(second), _logit(best.score) - _logit(second), x[f["sent_spec"]],
           x[f["ctx_spec"]], x[f["passage_spec"]], x[f["sim"]], x[f["dense"]],
           max(c.x[f["ctx_spec"]] for c in top5), max(c.x[f["passage_spec"]] for c in top3),
           x[f["type_asked"]] * (1 - max(c.x[f["type_held"]] for c in top5)),
           1 - max(c.x[f["numbers_ok"]] for c in top5), x[f["q_unknown_name"]], x[f["q_standout"]],
           x[f["q_terms"]], x[f["q_latin"]], x[f["q_list"]], x[f["q_absent"]], x[f["q_missing3"]],
           x[f["q_missing_max"]],
           # a top candidate holds the asked kind of value (and the question's numbers) where most of the asked
           # subject is named: the sentence with its heading
           max(c.x[f["type_held"]] * c.x[f["numbers_ok"]] * float(c.x[f["sent_spec"]] >= 0.5) for c in top5),
           max(c.x[f["passage_cov"]] for c in top3), max(c.x[f["dense"]] for c in top3)]
    return np.asarray(row, dtype=np.float64)
