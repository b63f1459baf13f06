"""The evidence stage: which sentence of the retrieved passages answers the question, and whether any does.

    weigh(query, hits):
        cands  = features.candidates(query, hits[:POOL])   # every sentence, its features computed once
        ranked = by model.sentence(cands)                  # does this sentence answer? (ties: earlier passage, sentence)
        p      = model.answerable(question_row(ranked))    # do the best candidates answer the question?
        refuse = p < model.threshold                       # calibrated by cross-validation (≤ 3 % false refusals)

The model (assistant/data/evidence_model.json) is two logistic regressions over standardised features,
trained on labelled questions (the dev set, the former blind set and the training set under evals/sets/) with
`python -m evals train`, which compares them with gradient boosting by cross-validation grouped by question,
stacks the question model on out-of-fold sentence scores, and writes the file with the hash of its training
data. Nothing here is keyed to the wording of a question: the answer-type patterns and the
glossary only feed features, and the weights decide.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path

import numpy as np

from assistant.errors import ConfigError
from assistant.pipeline.features import FEATURES, POOL, QUESTION_FEATURES, Candidate, IndexFacts, candidates, matrix, \
    question_row
from assistant.pipeline.understand import Query
from assistant.pipeline.sentences import SentenceMatcher
from retrieval.passage import Hit

MODEL_FILE = "evidence_model.json"


@dataclass
class Refusal:
    reason: str  # why, for notices and eval reports ("no sentence scores above the calibrated threshold …")


@dataclass
class Linear:
    """A logistic regression over standardised features: σ(w · (x − mean) / scale + b)."""

    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float

    @classmethod
    def from_dict(cls, d: dict, width: int) -> "Linear":
        lin = cls(np.asarray(d["mean"], float), np.asarray(d["scale"], float), np.asarray(d["coef"], float),
                  float(d["intercept"]))
        if not (len(lin.mean) == len(lin.scale) == len(lin.coef) == width) or not np.all(lin.scale > 0):
            raise ValueError(f"a model part has {len(lin.coef)} weights for {width} features")
        return lin

    def to_dict(self) -> dict:
        return {"mean": self.mean.tolist(), "scale": self.scale.tolist(), "coef": self.coef.tolist(),
                "intercept": self.intercept}

    def __call__(self, x: np.ndarray) -> np.ndarray:
        if len(x) == 0:
            return np.zeros(0)
        z = (x - self.mean) / self.scale @ self.coef + self.intercept
        return 1.0 / (1.0 + np.exp(-z))


@dataclass
class EvidenceModel:
    """Two small logistic regressions: `sentence` scores each candidate (does this sentence answer?),
    `answerable` the question from its best candidates (`features.question_row`); refuse below `threshold`."""

    sentence: Linear
    answerable: Linear
    threshold: float
    info: dict

    @classmethod
    def from_dict(cls, data: dict) -> "EvidenceModel":
        for key, names in (("features", FEATURES), ("question_features", QUESTION_FEATURES)):
            if tuple(data[key]) != names:
                differ = sorted(set(names) ^ set(data[key]))
                raise ConfigError(f"the evidence model was trained on other {key.replace('_', ' ')} "
                                  f"({', '.join(differ) or 'their order'} differ): rebuild it with "
                                  f"`python -m evals train`")
        return cls(Linear.from_dict(data["sentence"], len(FEATURES)),
                   Linear.from_dict(data["answerable"], len(QUESTION_FEATURES)), float(data["threshold"]),
                   dict(data.get("info", {})))

    @classmethod
    def load(cls, path: Path | None = None) -> "EvidenceModel":
        """The shipped model (assistant/data/evidence_model.json), or the file at `path`."""
        try:
            text = Path(path).read_text(encoding="utf-8") if path else \
                resources.files("assistant").joinpath("data", MODEL_FILE).read_text(encoding="utf-8")
            return cls.from_dict(json.loads(text))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ConfigError(f"the evidence model {path or MODEL_FILE} cannot be read ({exc}); "
                              f"rebuild it with `python -m evals train`") from exc

    def to_dict(self) -> dict:
        return {"features": list(FEATURES), "question_features": list(QUESTION_FEATURES),
                "sentence": self.sentence.to_dict(), "answerable": self.answerable.to_dict(),
                "threshold": self.threshold, "info": self.info}


@dataclass
class Evidence:
    """The stage's result, passed on to the answerer: candidates best first, passages in that order."""

    ranked: list[Candidate]
    hits: list[Hit]
    answerable: float  # the calibrated probability that the passages answer the question
    refusal: Refusal | None


def order_passages(ranked: list[Candidate], hits: list[Hit]) -> list[Hit]:
    """Passages by their best sentence's score, which becomes the hit's score (the fusion's stays in
    `sources["fused"]`); passages without a candidate follow in their fused order, scored 0."""
    best: dict[str, float] = {}
    for c in ranked:
        best.setdefault(c.hit.passage.id, c.score)
    by_id = {h.passage.id: h for h in hits}
    order = list(best) + [h.passage.id for h in hits if h.passage.id not in best]
    return [replace(by_id[pid], score=round(best.get(pid, 0.0), 6),
                    sources={**by_id[pid].sources, "fused": by_id[pid].score}) for pid in order]


class EvidenceStage:
    def __init__(self, model: EvidenceModel, facts: IndexFacts, matcher: SentenceMatcher | None = None,
                 *, abstain: bool = True):
        self.model = model
        self.facts = facts
        self.matcher = matcher
        self.abstain = abstain

    def candidates(self, query: Query, hits: list[Hit]) -> list[Candidate]:
        text = query.search_words()[0]  # the text the dense retriever embedded: the question is embedded once
        similarity = self.matcher.for_query(text) if self.matcher is not None else None
        standout = self.matcher.standout(text) if self.matcher is not None else 0.0
        return candidates(query, hits[:POOL], self.facts, similarity, standout)

    def weigh(self, query: Query, hits: list[Hit]) -> Evidence:
        cands = self.candidates(query, hits)
        ranked = rank(cands, self.model.sentence(matrix(cands)))
        if not ranked:
            return Evidence([], list(hits), 0.0, Refusal("nothing retrieved"))
        p = float(self.model.answerable(question_row(ranked)[None, :])[0])
        refusal = None
        if self.abstain and p < self.model.threshold:
            refusal = Refusal(f"the retrieved passages do not answer it (answerable {p:.2f}, below the calibrated "
                              f"{self.model.threshold:.2f}){lacking(query, ranked)}")
        return Evidence(ranked, order_passages(ranked, hits), p, refusal)


def rank(cands: list[Candidate], scores: np.ndarray) -> list[Candidate]:
    """The candidates scored, best first; equal scores: the earlier passage, then the earlier sentence."""
    for c, s in zip(cands, scores):
        c.score = float(s)
    return sorted(cands, key=lambda c: (-round(c.score, 9), c.hit_rank, c.position))


def lacking(query: Query, ranked: list[Candidate]) -> str:
    """What the documents lack, for the refusal's notice: the asked kind of value, or the question's specific
    terms that none of the best passages names."""
    f = {name: i for i, name in enumerate(FEATURES)}
    top = ranked[:5]
    if query.terms.asked_types and not any(c.x[f["type_held"]] for c in top):
        return f"; no sentence holds the asked {'/'.join(query.terms.asked_types)}"
    if ranked[0].x[f["q_unknown_name"]]:
        return f"; {'、'.join(query.terms.unknown_names)} is not mentioned in the documents"
    return ""


__all__ = ["Evidence", "EvidenceModel", "EvidenceStage", "Linear", "Refusal", "FEATURES", "POOL", "rank"]
