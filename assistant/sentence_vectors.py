"""Sentence vectors: every sentence of every passage embedded once, so the answerer can compare the
question with single sentences (a plain-language question shares meaning, not words, with the sentence
that answers it).

Kept in PA_DATA_DIR/sentences/vectors-<embedder>.npz by sentence hash: a changed library embeds only its
new sentences; a cache that cannot be read or written is re-derived (a warning, never an error).
"""
from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from pathlib import Path

import numpy as np

from assistant.evidence import sentences
from retrieval.embedders import Embedder
from retrieval.passage import Passage

log = logging.getLogger(__name__)


def _key(sentence: str) -> str:
    return hashlib.sha1(sentence.encode("utf-8")).hexdigest()[:20]


def passage_sentences(p: Passage) -> list[str]:
    return [p.text] if p.kind == "table_row" else sentences(p.text)


class SentenceVectors:
    def __init__(self, vectors: dict[str, np.ndarray]):
        self._vectors = vectors

    def __len__(self) -> int:
        return len(self._vectors)

    def get(self, sentence: str) -> np.ndarray | None:
        return self._vectors.get(_key(sentence))

    @classmethod
    def load_or_embed(cls, passages: list[Passage], embedder: Embedder, cache_dir: Path | None) -> "SentenceVectors":
        wanted = {_key(s): s for p in passages for s in passage_sentences(p)}
        path = Path(cache_dir) / f"vectors-{embedder.name}.npz" if cache_dir is not None else None
        known: dict[str, np.ndarray] = {}
        if path is not None and path.exists():
            try:
                with np.load(path) as data:
                    known = {k: data["vectors"][i] for i, k in enumerate(data["keys"]) if k in wanted}
            except (OSError, ValueError, KeyError) as exc:
                log.warning("sentence vectors %s are unreadable (%s); embedding again", path, exc)
        missing = [k for k in wanted if k not in known]
        if missing:
            for k, v in zip(missing, embedder.embed_passages([wanted[k] for k in missing])):
                known[k] = v
            if path is not None:
                _save(path, known)
        return cls(known)


def _save(path: Path, vectors: dict[str, np.ndarray]) -> None:
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".vectors-", suffix=".npz")
        with os.fdopen(fd, "wb") as f:
            np.savez(f, keys=np.array(list(vectors)), vectors=np.vstack(list(vectors.values())).astype(np.float32))
        os.replace(tmp, path)
    except OSError as exc:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        log.warning("could not cache the sentence vectors in %s: %s", path.parent, exc)


class SentenceMatcher:
    """Cosine similarity of a question with single sentences (None for a sentence without a vector)."""

    def __init__(self, vectors: SentenceVectors, query_vector):
        self.vectors = vectors
        self.query_vector = query_vector  # text -> unit vector (cached by the dense retriever)
        self._matrix: np.ndarray | None = None

    def standout(self, text: str) -> float:
        """How far the question's best sentence stands out from all sentences of the library (a z-score):
        a strong semantic match that shares few words with the question stands out all the same."""
        q = self.query_vector(text)
        if self._matrix is None:
            self._matrix = np.vstack(list(self.vectors._vectors.values())) if len(self.vectors) else np.zeros((0, len(q)))
        if len(self._matrix) < 2:
            return 0.0
        sims = self._matrix @ q
        return float((sims.max() - sims.mean()) / (sims.std() or 1.0))

    def for_query(self, text: str):
        q = self.query_vector(text)

        def similarity(sentence: str) -> float | None:
            v = self.vectors.get(sentence)
            return None if v is None else float(np.dot(q, v))
        return similarity
