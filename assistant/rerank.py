"""Optional reordering of the fused candidates before the evidence stage (PA_RERANKER).

`KeepOrder` (none, the default) keeps the fusion's order: the learned evidence stage (`assistant.evidence_stage`)
weighs every candidate sentence itself. `CrossEncoderReranker` (st:<model or path>) and `LLMReranker` (llm)
are the pluggable model-based alternatives (`assistant.rerank_models`).
"""
from __future__ import annotations

from typing import Protocol

from assistant.errors import ConfigError
from assistant.query import Query
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
        from assistant.rerank_models import CrossEncoderReranker

        return CrossEncoderReranker(arg)
    if kind == "llm":
        if llm is None:
            raise ConfigError("PA_RERANKER=llm needs an LLM: set PA_LLM_BASE_URL (or choose none, st:<model>)")
        from assistant.rerank_models import LLMReranker

        return LLMReranker(llm)
    raise ConfigError(f"PA_RERANKER={spec!r} is not known; allowed: none, st:<model name or path>, llm")
