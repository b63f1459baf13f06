"""Sentences: how a passage is split into the units the evidence stage weighs and the answerer quotes,
and their vectors.

Every sentence of every passage is embedded once, so the evidence stage can compare the question with single
sentences (a plain-language question shares meaning, not words, with the sentence that answers it). Kept in
PA_DATA_DIR/sentences/vectors-<embedder>.npz by sentence hash: a changed library embeds only its new
sentences; a cache that cannot be read or written is re-derived (a warning, never an error). In memory they
are one float32 matrix (4 bytes x 384 per sentence) and a dict from sentence hash to row.
"""
from __future__ import annotations

import hashlib
import logging
import os
import re
import tempfile
from pathlib import Path

import numpy as np

from retrieval.storage.embedders import Embedder
from retrieval.passage import Passage
from retrieval.text import split_sentences


LEAD_CHARS = 20
_NUMBERED_TITLE = re.compile(r"^\s*\d{1,2}[.、．]\s*[^\d]*$")  # "2. 加强高新技术企业培育。" (a title, no figures)


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


log = logging.getLogger(__name__)


def _key(sentence: str) -> str:
    return hashlib.sha1(sentence.encode("utf-8")).hexdigest()[:20]


def passage_sentences(p: Passage) -> list[str]:
    return [p.text] if p.kind == "table_row" else sentences(p.text)


class SentenceVectors:
    """The vectors of the library's sentences: rows of one float32 matrix, found by sentence hash."""

    def __init__(self, vectors: dict[str, np.ndarray] | None = None, *, keys: list[str] | None = None,
                 matrix: np.ndarray | None = None):
        if matrix is None:
            keys = list(vectors or {})
            matrix = (np.vstack([vectors[k] for k in keys]).astype(np.float32) if vectors and keys
                      else np.zeros((0, 0), dtype=np.float32))
        self._row = {k: i for i, k in enumerate(keys or ())}
        self.matrix = matrix

    def __len__(self) -> int:
        return len(self._row)

    def get(self, sentence: str) -> np.ndarray | None:
        i = self._row.get(_key(sentence))
        return None if i is None else self.matrix[i]

    @classmethod
    def load_or_embed(cls, passages: list[Passage], embedder: Embedder, cache_dir: Path | None) -> "SentenceVectors":
        wanted = {_key(s): s for p in passages for s in passage_sentences(p)}
        keys = list(wanted)
        path = Path(cache_dir) / f"vectors-{embedder.name}.npz" if cache_dir is not None else None
        index: dict[str, int] = {}
        stored = None
        if path is not None and path.exists():
            try:
                with np.load(path) as data:  # each array read once (data[...] decompresses it again on every access)
                    stored = np.asarray(data["vectors"], dtype=np.float32)
                    index = {str(k): i for i, k in enumerate(data["keys"])}
            except (OSError, ValueError, KeyError) as exc:
                log.warning("sentence vectors %s are unreadable (%s); embedding again", path, exc)
                index, stored = {}, None
        have = [i for i, k in enumerate(keys) if k in index]
        missing = [i for i, k in enumerate(keys) if k not in index]
        new = embedder.embed_passages([wanted[keys[i]] for i in missing]) if missing else None
        dim = stored.shape[1] if stored is not None else (new.shape[1] if new is not None else 0)
        matrix = np.zeros((len(keys), dim), dtype=np.float32)
        if have:
            matrix[have] = stored[[index[keys[i]] for i in have]]
        if missing:
            matrix[missing] = new
            if path is not None:
                _save(path, keys, matrix)
        return cls(keys=keys, matrix=matrix)


def _save(path: Path, keys: list[str], matrix: np.ndarray) -> None:
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".vectors-", suffix=".npz")
        with os.fdopen(fd, "wb") as f:
            np.savez(f, keys=np.array(keys), vectors=matrix)
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

    def standout(self, text: str) -> float:
        """How far the question's best sentence stands out from all sentences of the library (a z-score):
        a strong semantic match that shares few words with the question stands out all the same."""
        q = self.query_vector(text)
        if len(self.vectors) < 2:
            return 0.0
        sims = self.vectors.matrix @ q  # linear in the library's sentences: one BLAS product, ~28 ms at 150,000
        return float((sims.max() - sims.mean()) / (sims.std() or 1.0))

    def for_query(self, text: str):
        q = self.query_vector(text)

        def similarity(sentence: str) -> float | None:
            v = self.vectors.get(sentence)
            return None if v is None else float(np.dot(q, v))
        return similarity
