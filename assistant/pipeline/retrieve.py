"""Optional reordering of the fused candidates before the evidence stage (PA_RERANKER).

`KeepOrder` (none, the default) keeps the fusion's order: the learned evidence stage (`pipeline.evidence`)
weighs every candidate sentence itself. The model rerankers: a sentence-transformers cross-encoder
(PA_RERANKER=st:<name or path>, needs the [st] extra) or the configured LLM (PA_RERANKER=llm); each falls back
to the order it was given when the model fails, and says so in the log.
"""
from __future__ import annotations

import json
import logging
import re
from dataclasses import replace
from typing import Protocol

from assistant.errors import ConfigError, LLMError
from assistant.llm.client import LLMClient
from assistant.llm.prompt import RERANK_SYSTEM, judged_messages
from assistant.pipeline.understand import Query
from retrieval.passage import Hit


class Reranker(Protocol):
    def rerank(self, query: Query, hits: list[Hit]) -> list[Hit]: ...


class KeepOrder:
    def rerank(self, query: Query, hits: list[Hit]) -> list[Hit]:
        return hits


def make_reranker(spec: str, llm=None) -> Reranker:
    """PA_RERANKER: none (default) | st:<cross-encoder name or path> | llm."""
    kind, _, arg = spec.partition(":")
    kind = kind.strip().lower()
    if kind == "none":
        return KeepOrder()
    if kind in {"st", "sentence-transformers"} and arg:
        return CrossEncoderReranker(arg)
    if kind == "llm":
        if llm is None:
            raise ConfigError("PA_RERANKER=llm needs an LLM: set PA_LLM_BASE_URL (or choose none, st:<model>)")
        return LLMReranker(llm)
    raise ConfigError(f"PA_RERANKER={spec!r} is not known; allowed: none, st:<model name or path>, llm")


log = logging.getLogger(__name__)
MODEL_POOL = 10  # candidates a model reranker reads (a cross-encoder call per pair; one LLM prompt)
MAX_PAIR_CHARS = 512
_JSON = re.compile(r"\{.*\}", re.S)


def _reordered(hits: list[Hit], order: list[int], scores: list[float]) -> list[Hit]:
    """The first MODEL_POOL hits in `order` (with `scores`), then the rest as they were."""
    head = [replace(hits[i], score=s, sources={**hits[i].sources, "fused": hits[i].score})
            for i, s in zip(order, scores)]
    return head + hits[MODEL_POOL:]


class CrossEncoderReranker:
    """Scores (question, passage) pairs with a sentence-transformers `CrossEncoder`."""

    def __init__(self, model: str):
        try:
            from sentence_transformers import CrossEncoder
        except ImportError as exc:
            raise ConfigError("PA_RERANKER=st:… needs the [st] extra: pip install 'policy-assistant[st]' "
                              "(install a CPU torch first, e.g. pip install torch==2.13.0)") from exc
        try:
            self.model = CrossEncoder(model, device="cpu", num_labels=1)
        except Exception as exc:  # the library raises many types (OSError, HF errors, ValueError)
            raise ConfigError(f"PA_RERANKER=st:{model}: cannot load the cross-encoder ({exc})") from exc
        self.name = model

    def rerank(self, query: Query, hits: list[Hit]) -> list[Hit]:
        pool = hits[:MODEL_POOL]
        if not pool:
            return hits
        pairs = [(query.standalone, h.passage.index_text[:MAX_PAIR_CHARS]) for h in pool]
        scores = [float(s) for s in self.model.predict(pairs, show_progress_bar=False)]
        order = sorted(range(len(pool)), key=lambda i: -scores[i])
        return _reordered(hits, order, [scores[i] for i in order])


class LLMReranker:
    """Asks the LLM for the order of the first MODEL_POOL candidates (JSON); unknown numbers are ignored and
    the ones it leaves out keep their fused order after the ones it ranked."""

    def __init__(self, llm: LLMClient):
        self.llm = llm

    def rerank(self, query: Query, hits: list[Hit]) -> list[Hit]:
        pool = hits[:MODEL_POOL]
        if len(pool) < 2:
            return hits
        try:
            reply = self.llm.complete(judged_messages(RERANK_SYSTEM, query.standalone, [h.passage for h in pool]),
                                      max_tokens=120)
            ranking = json.loads(_JSON.search(reply).group(0))["ranking"]
        except (LLMError, AttributeError, KeyError, TypeError, ValueError) as exc:
            log.info("LLM rerank failed (%s); keeping the fused order", exc)
            return hits
        order = []
        for n in ranking if isinstance(ranking, list) else []:
            if isinstance(n, int) and 1 <= n <= len(pool) and n - 1 not in order:
                order.append(n - 1)
        order += [i for i in range(len(pool)) if i not in order]
        top = max(h.score for h in pool)
        return _reordered(hits, order, [top * (1 - r / (2 * len(pool))) for r in range(len(pool))])
