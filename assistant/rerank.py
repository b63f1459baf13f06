"""The reranking stage, between fusion and the relevance gate: which of the fused candidates is *the* answer.

Fusion ranks by how much a passage shares with the question; a generic paragraph that lists a dozen
fields ("瞄准……等前沿领域") often beats the 专栏 item whose lead phrase names exactly the asked technology.
`FeatureReranker` rescores the top RERANK_POOL candidates with a few features, each in 0..1:

    fused     the fusion score, relative to the best candidate
    head      the question's specific terms (IDF-weighted) in the passage's own heading or lead phrase
              (`2. 加强高新技术企业培育`, `关键零部件。…`, a table row's label) and its section path
    sentence  the best single sentence's share of the question's terms (its section heading counts)
    crowded   the specific terms occur only inside an enumeration of many topics (`evidence.enumerated`)
              and not in the heading: a mention in passing, not the subject (penalty; not for list questions)

    score = fused + w_head * head + w_sentence * sentence - w_crowded * crowded

Weights were chosen on the dev set (`python -m evals rerank-grid`, README "Evaluation"), kept few on
purpose. `KeepOrder` keeps the fused order; `CrossEncoderReranker` (PA_RERANKER=st:<model or path>) and
`LLMReranker` (PA_RERANKER=llm) are the pluggable alternatives.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Protocol

from assistant.errors import ConfigError
from assistant.evidence import enumerated, sentences
from assistant.query import Query
from assistant.relevance import TermStats, present_terms, share, specific_terms
from retrieval.passage import Hit, Passage

RERANK_POOL = 15  # fused candidates the reranker chooses among
LEAD_MAX = 32  # a first sentence this short is a lead phrase (专栏 items: `关键零部件。突破…`)


class Reranker(Protocol):
    def rerank(self, query: Query, hits: list[Hit]) -> list[Hit]: ...


class KeepOrder:
    def rerank(self, query: Query, hits: list[Hit]) -> list[Hit]:
        return hits


@dataclass(frozen=True)
class RerankWeights:
    head: float = 0.6
    sentence: float = 0.4
    crowded: float = 0.3


def heading(p: Passage) -> str:
    """What the passage says it is about: its own section title, a short lead sentence, a table row's label."""
    parts = [p.section[-1]] if p.section else []
    if p.kind == "table_row":
        parts.append(p.text.split("：", 1)[0])
    else:
        first = sentences(p.text)[0] if p.text else ""
        lead = re.split(r"[。；;]", first, maxsplit=1)[0]
        if len(lead) <= LEAD_MAX:
            parts.append(lead)
    return " ".join(parts)


def _crowded(sents: list[str], found_in_head: bool, specific: set[str], query: Query) -> float:
    """1.0 when the specific terms are met only in enumerations of many items, never in the heading."""
    if found_in_head or not specific:
        return 0.0
    hits = [s for s in sents if present_terms(query.terms, s) & specific]
    if not hits:
        return 0.0
    return 1.0 if all(enumerated(s, present_terms(query.terms, s) & specific) for s in hits) else 0.0


class FeatureReranker:
    def __init__(self, stats: TermStats, weights: RerankWeights | None = None, specific_df_share: float = 0.2):
        self.stats = stats
        self.weights = weights or RerankWeights()
        self.specific_df_share = specific_df_share

    def features(self, query: Query, hit: Hit, top: float) -> dict[str, float]:
        terms = query.terms
        specific = specific_terms(terms, self.stats, self.specific_df_share)
        p = hit.passage
        head_terms = present_terms(terms, f"{heading(p)} {p.section_path}") & specific
        head = sum(terms.weights[t] for t in head_terms) / sum(terms.weights[t] for t in specific) if specific else 0.0
        context = p.section[-1] if p.section else ""
        sents = [p.text] if p.kind == "table_row" else sentences(p.text)
        best = max((share(terms, present_terms(terms, f"{s} {context}")) for s in sents), default=0.0)
        crowded = 0.0 if query.wants_list else _crowded(sents, bool(head_terms), specific, query)
        return {"fused": max(hit.score, 0.0) / top if top > 0 else 0.0, "head": head, "sentence": best,
                "crowded": crowded}

    def score(self, f: dict[str, float]) -> float:
        w = self.weights
        return f["fused"] + w.head * f["head"] + w.sentence * f["sentence"] - w.crowded * f["crowded"]

    def rerank(self, query: Query, hits: list[Hit]) -> list[Hit]:
        if not hits:
            return hits
        top = max(h.score for h in hits)
        scored = []
        for h in hits:
            f = self.features(query, h, top)
            scored.append(replace(h, score=self.score(f), sources={**h.sources, "fused": h.score}))
        return sorted(scored, key=lambda h: -h.score)


def make_reranker(spec: str, stats: TermStats, llm=None) -> Reranker:
    """PA_RERANKER: features (default) | none | st:<cross-encoder name or path> | llm."""
    kind, _, arg = spec.partition(":")
    kind = kind.strip().lower()
    if kind == "features":
        return FeatureReranker(stats)
    if kind == "none":
        return KeepOrder()
    if kind in {"st", "sentence-transformers"} and arg:
        from assistant.rerank_models import CrossEncoderReranker

        return CrossEncoderReranker(arg)
    if kind == "llm":
        if llm is None:
            raise ConfigError("PA_RERANKER=llm needs an LLM: set PA_LLM_BASE_URL (or choose features, none, st:<model>)")
        from assistant.rerank_models import LLMReranker

        return LLMReranker(llm)
    raise ConfigError(f"PA_RERANKER={spec!r} is not known; allowed: features, none, st:<model name or path>, llm")
