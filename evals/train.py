"""`python -m evals train`: the evidence stage's model, learned from labelled questions, checked by
cross-validation grouped by question, written with the hash of its training data.

    items     the training sets (TRAIN_SETS: dev, the former blind set, the training set): never the sealed set
    features  each item's question through the assistant's own understand -> hybrid search (top POOL fused
              passages) -> assistant.pipeline.features.candidates: one row per sentence; label = the sentence holds an
              evidence string of the item (unanswerable items: every row 0)
    models    the sentence model: logistic regression and gradient boosting, compared by 5-fold cross-validation
              grouped by question (a follow-up with the question it follows): hit@1 of the best-scored
              sentence's passage; the question model (answerable?): a logistic regression over
              `features.question_row` with the signs `features.QUESTION_SIGNS` (compared with an unsigned one
              and with boosting), stacked on the sentence model's out-of-fold scores
    threshold the refusal threshold, from the out-of-fold probabilities of answerable items: the highest that
              refuses at most MAX_FALSE_REFUSALS of them
    output    assistant/data/evidence_model.json (logistic regression, as plain numbers: no pickle), the same
              for the same data and code (deterministic solvers, fixed folds)
"""
from __future__ import annotations

import hashlib
import json
import math
import shutil
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from assistant.pipeline.evidence import MODEL_FILE, EvidenceModel, Linear, rank
from assistant.pipeline.features import POOL, QUESTION_FEATURES, QUESTION_SIGNS, label, question_row
from evals.dataset import Item, load_set
from evals.runner import history_for

REPO = Path(__file__).resolve().parents[1]
SETS = Path(__file__).parent / "sets"
TRAIN_SETS = ("plan_dev.jsonl", "plan_blind.jsonl", "plan_train_extra.jsonl", "plan_train_extra2.jsonl",
              "plan_train_offtopic.jsonl")
MAX_FALSE_REFUSALS = 0.03
FOLDS = 5
MODEL_PATH = REPO / "assistant" / "data" / MODEL_FILE


@dataclass
class Rows:
    items: list[Item]
    cands: list[list]  # per item: its candidates (assistant.pipeline.features.Candidate)
    relevant: list[set[str]]  # per item: passage ids holding its evidence
    group: np.ndarray  # per item: its question group (a follow-up with the question it follows)

    @property
    def x(self) -> np.ndarray:
        return np.vstack([c.x for cs in self.cands for c in cs])

    @property
    def y(self) -> np.ndarray:
        return np.asarray([int(it.answerable and label(c, it.evidence)) for it, cs in zip(self.items, self.cands)
                           for c in cs])

    @property
    def row_item(self) -> np.ndarray:
        return np.asarray([n for n, cs in enumerate(self.cands) for _ in cs])


def training_items(sets: tuple[str, ...] = TRAIN_SETS) -> tuple[list[Item], str]:
    """The items of the training sets and the sha256 of their bytes and the corpus (the training data)."""
    h = hashlib.sha256()
    items: list[Item] = []
    for name in sets:
        path = SETS / name
        h.update(path.read_bytes())
        prefix = Path(name).stem + ":"
        for it in load_set(path):
            it.id = prefix + it.id
            it.prev = prefix + it.prev if it.prev else None
            items.append(it)
    for doc in sorted((REPO / "corpus").glob("*")):
        h.update(doc.name.encode() + doc.read_bytes())
    return items, h.hexdigest()


def extract(assistant, items: list[Item]) -> Rows:
    """Every item's question through understand -> fused search -> candidates (features), with labels."""
    from evals.metrics import _has_evidence

    by_id = {it.id: it for it in items}
    root: dict[str, str] = {}
    cands, relevant = [], []
    for it in items:
        root[it.id] = root.get(it.prev, it.prev) if it.prev else it.id
        query = assistant.understand(it.question, history_for(it, by_id, {}))
        hits = assistant.fused(query, POOL)
        cands.append(assistant.evidence.candidates(query, hits))
        relevant.append({h.passage.id for h in hits if it.answerable and _has_evidence(h.passage.text, it.evidence)})
    codes = {g: i for i, g in enumerate(dict.fromkeys(root[it.id] for it in items))}
    return Rows(items, cands, relevant, np.asarray([codes[root[it.id]] for it in items]))


def _logistic():
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=5000))


def _boosting():
    from sklearn.ensemble import HistGradientBoostingClassifier

    return HistGradientBoostingClassifier(max_iter=200, learning_rate=0.05, max_leaf_nodes=15, random_state=0)


MODELS = {"logistic": _logistic, "boosting": _boosting}


class SignedLogistic:
    """A logistic regression whose weights keep the signs QUESTION_SIGNS gives (L-BFGS-B with bounds, L2 as
    sklearn's C=1): standardised features, deterministic. predict_proba like sklearn's."""

    def __init__(self, signs: list[int], c: float = 1.0):
        self.signs, self.c = signs, c

    def fit(self, x: np.ndarray, y: np.ndarray) -> "SignedLogistic":
        from scipy.optimize import minimize

        self.mean_ = x.mean(axis=0)
        self.scale_ = np.where(x.std(axis=0) > 0, x.std(axis=0), 1.0)
        z, y = (x - self.mean_) / self.scale_, np.asarray(y, float)

        def loss(w):
            t = z @ w[:-1] + w[-1]
            p = 1.0 / (1.0 + np.exp(-t))
            value = np.sum(np.logaddexp(0, t) - y * t) + 0.5 / self.c * np.dot(w[:-1], w[:-1])
            grad = np.append(z.T @ (p - y) + w[:-1] / self.c, np.sum(p - y))
            return value, grad

        bounds = [(0, None) if s > 0 else (None, 0) if s < 0 else (None, None) for s in self.signs] + [(None, None)]
        res = minimize(loss, np.zeros(z.shape[1] + 1), jac=True, method="L-BFGS-B", bounds=bounds,
                       options={"maxiter": 5000, "gtol": 1e-10})
        self.coef_, self.intercept_ = res.x[:-1], float(res.x[-1])
        return self

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        p = 1.0 / (1.0 + np.exp(-((x - self.mean_) / self.scale_ @ self.coef_ + self.intercept_)))
        return np.column_stack([1 - p, p])

    def linear(self) -> Linear:
        return Linear(np.round(self.mean_, 8), np.round(self.scale_, 8), np.round(self.coef_, 8),
                      round(self.intercept_, 8))


def _signed() -> SignedLogistic:
    return SignedLogistic([QUESTION_SIGNS[name] for name in QUESTION_FEATURES])


def _folds(groups: np.ndarray):
    from sklearn.model_selection import GroupKFold

    return list(GroupKFold(n_splits=FOLDS).split(np.zeros(len(groups)), groups=groups))


def out_of_fold_sentences(rows: Rows, make) -> np.ndarray:
    """Each candidate's score from a model that never saw its question (or the question it follows)."""
    x, y, owner = rows.x, rows.y, rows.row_item
    scores = np.zeros(len(y))
    for train_items, test_items in _folds(rows.group):
        tr, te = np.isin(owner, train_items), np.isin(owner, test_items)
        scores[te] = make().fit(x[tr], y[tr]).predict_proba(x[te])[:, 1]
    return scores


def question_rows(rows: Rows, scores: np.ndarray) -> tuple[np.ndarray, list[bool]]:
    """Per item: the abstention features from its candidates ranked by `scores`, and whether the best-ranked
    sentence's passage holds the evidence."""
    owner = rows.row_item
    qx, top_ok = [], []
    for n, cs in enumerate(rows.cands):
        ranked = rank([replace(c) for c in cs], scores[owner == n])
        qx.append(question_row(ranked))
        top_ok.append(bool(ranked) and ranked[0].hit.passage.id in rows.relevant[n])
    return np.vstack(qx), top_ok


def threshold_for(p: np.ndarray, items: list[Item], max_false: float = MAX_FALSE_REFUSALS) -> float:
    """The highest threshold refusing at most `max_false` of the answerable items."""
    answerable = np.sort(np.asarray([v for v, it in zip(p, items) if it.answerable]))
    allowed = int(math.floor(max_false * len(answerable)))
    return float(answerable[allowed]) - 1e-9 if len(answerable) else 0.5


def metrics(p: np.ndarray, top_ok: list[bool], items: list[Item], threshold: float) -> dict[str, float]:
    ans = [(v, ok) for v, ok, it in zip(p, top_ok, items) if it.answerable]
    una = [v for v, it in zip(p, items) if not it.answerable]
    by_cat: dict[str, list[float]] = {}
    for v, ok, it in zip(p, top_ok, items):
        if it.answerable:
            by_cat.setdefault(it.category, []).append(float(ok and v >= threshold))
    out = {"hit@1": float(np.mean([ok and v >= threshold for v, ok in ans])),
           "hit@1_unrefused": float(np.mean([ok for _, ok in ans])),
           "false_refusal": float(np.mean([v < threshold for v, _ in ans])),
           "unanswerable_refused": float(np.mean([v < threshold for v in una])) if una else float("nan")}
    out.update({f"hit@1 {c}": float(np.mean(v)) for c, v in sorted(by_cat.items())})
    return {k: round(v, 4) for k, v in out.items()}


def _linear(pipe) -> Linear:
    scaler, lr = pipe.named_steps["standardscaler"], pipe.named_steps["logisticregression"]
    scale = np.where(scaler.scale_ > 0, scaler.scale_, 1.0)
    return Linear(np.round(scaler.mean_, 8), np.round(scale, 8), np.round(lr.coef_[0], 8),
                  round(float(lr.intercept_[0]), 8))


def cross_validate(rows: Rows, make, make_question=None) -> tuple[dict, np.ndarray, np.ndarray]:
    """The sentence model `make` and the question model (default: logistic) stacked on its out-of-fold
    scores, both cross-validated on the same grouped folds: (metrics, question rows, out-of-fold answerable
    probability)."""
    qx, top_ok = question_rows(rows, out_of_fold_sentences(rows, make))
    qy = np.asarray([int(it.answerable) for it in rows.items])
    p = np.zeros(len(qy))
    for train_items, test_items in _folds(rows.group):
        model = (make_question or _signed)().fit(qx[train_items], qy[train_items])
        p[test_items] = model.predict_proba(qx[test_items])[:, 1]
    th = threshold_for(p, rows.items)
    return {"threshold": round(th, 6), **metrics(p, top_ok, rows.items, th)}, qx, p


# feature groups switched off one at a time by `python -m evals train --ablation` (the question model's features
# are computed from the sentence rows, so zeroing a sentence feature removes what is derived from it too)
FEATURE_GROUPS = {
    "answer types (asked / held kind of value)": ("type_asked", "type_held"),
    "sentence vectors": ("sim", "sim_gap", "q_standout"),
    "where a passage stands (heading, title, issuer)": ("head", "title", "ctx_spec"),
    "question's absent / missing terms": ("q_absent", "q_missing3", "q_missing_max", "q_unknown_name"),
    "years and numbers present": ("numbers_ok",),
}


def ablation(assistant, log=print) -> dict[str, dict]:
    """Cross-validated metrics with each feature group zeroed (one at a time), beside all features."""
    from dataclasses import replace as copy

    from assistant.pipeline.features import FEATURES

    items, _ = training_items()
    rows = extract(assistant, items)
    table = {"all features": cross_validate(rows, _logistic)[0]}
    log(f"all features: {table['all features']}")
    for name, feats in FEATURE_GROUPS.items():
        idx = [FEATURES.index(f) for f in feats]
        cands = []
        for cs in rows.cands:
            zeroed = []
            for c in cs:
                x = c.x.copy()
                x[idx] = 0.0
                zeroed.append(copy(c, x=x))
            cands.append(zeroed)
        table[f"without {name}"] = cross_validate(Rows(rows.items, cands, rows.relevant, rows.group), _logistic)[0]
        log(f"without {name}: {table[f'without {name}']}")
    return table


def train(assistant, *, out: Path | None = MODEL_PATH, log=print) -> dict:
    items, data_hash = training_items()
    log(f"{len(items)} training items ({sum(not i.answerable for i in items)} unanswerable); extracting features …")
    rows = extract(assistant, items)
    y = rows.y
    log(f"{len(y)} candidate sentences, {int(y.sum())} labelled as answering")
    report: dict = {"items": len(items), "rows": int(len(y)), "positives": int(y.sum()), "cv": {}}
    stacked = None
    for name, make in MODELS.items():
        report["cv"][name], qx, _ = cross_validate(rows, make)
        stacked = qx if name == "logistic" else stacked
        log(f"cross-validated {name}: {report['cv'][name]}")
    for name, make_q in (("logistic, unsigned question model", _logistic), ("logistic, boosted question model", _boosting)):
        report["cv"][name], _, _ = cross_validate(rows, _logistic, make_q)
        log(f"cross-validated {name}: {report['cv'][name]}")
    cv = report["cv"]["logistic"]
    sentence = _linear(_logistic().fit(rows.x, y))
    answerable = _signed().fit(stacked, np.asarray([int(it.answerable) for it in items])).linear()
    model = EvidenceModel(sentence, answerable, cv["threshold"],
                          {"training_data_sha256": data_hash, "sets": list(TRAIN_SETS), "items": len(items),
                           "rows": int(len(y)), "max_false_refusals": MAX_FALSE_REFUSALS,
                           "cross_validated": report["cv"], "rebuild": "python -m evals train"})
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(model.to_dict(), ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        log(f"written to {out}")
    report["model"] = model.to_dict()
    return report


def plan_assistant(settings_factory, work: Path | None = None):
    """An assistant over the bundled corpus alone, in a private data directory (the training index)."""
    from assistant.core import Assistant

    tmp = Path(tempfile.mkdtemp(prefix="pa-train-")) if work is None else work
    corpus = tmp / "corpus"
    if not corpus.exists():
        shutil.copytree(REPO / "corpus", corpus)
    settings = settings_factory(data_dir=tmp / "data", corpus_dir=corpus)
    return Assistant.from_settings(settings, learned=False)
