"""The keyword retriever: BM25 over jieba tokens (bm25s). Derived from the passages in Chroma; persisted as a cache."""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from retrieval.retrievers.filters import PassageFilter
from retrieval.retrievers.fusion import Ranking
from retrieval.tokenize import tokenize, tokenizer_signature

EXTRA_WEIGHT = 0.4  # 0.2-1.0 score alike on the dev set; below 1.0 a thesaurus's related words stop outranking


class BM25Retriever:
    name = "bm25"

    def __init__(self, ids: list[str], retriever, fingerprint: str = ""):
        self.ids = ids
        self._bm25 = retriever
        self.fingerprint = fingerprint
        self._vocab = set(retriever.vocab_dict) if getattr(retriever, "vocab_dict", None) else None

    @classmethod
    def build(cls, ids: list[str], texts: list[str], fingerprint: str = "") -> "BM25Retriever":
        import bm25s

        retriever = bm25s.BM25(k1=1.2, b=0.75)
        retriever.index([tokenize(t) or [""] for t in texts], show_progress=False)
        return cls(list(ids), retriever, fingerprint)

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every passage (aligned with self.ids)."""
        tokens = [t for t in tokenize(query) if self._vocab is None or t in self._vocab]
        if not tokens:
            return np.zeros(len(self.ids), dtype=np.float32)
        return np.asarray(self._bm25.get_scores(tokens), dtype=np.float32)

    def search(self, query: str, k: int, keep: PassageFilter, extra: str = "") -> Ranking:
        """Up to k (passage id, BM25 score), best first: passages with a positive score that `keep` accepts.
        Words of `extra` (added by query understanding) count EXTRA_WEIGHT of the query's own: a question's
        related terms must not outweigh the words it asks with."""
        scores = self.scores(query)
        if extra:
            scores = scores + EXTRA_WEIGHT * self.scores(extra)
        ranking: Ranking = []
        for i in _best_first(scores, 4 * k):
            if scores[i] <= 0 or len(ranking) >= k:
                break
            if keep.accept(self.ids[i]):
                ranking.append((self.ids[i], float(scores[i])))
        return ranking

    # -- persistence: written to a temporary directory, then renamed into place
    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".bm25-", dir=path.parent))
        try:
            self._bm25.save(str(tmp), show_progress=False)
            (tmp / "ids.json").write_text(
                json.dumps({"ids": self.ids, "fingerprint": self.fingerprint, "tokenizer": tokenizer_signature()},
                           ensure_ascii=False), encoding="utf-8"
            )
            if path.exists():
                shutil.rmtree(path)
            os.replace(tmp, path)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)

    @classmethod
    def load(cls, path: Path, fingerprint: str) -> "BM25Retriever | None":
        """The saved index if it was built from the same passages; None otherwise."""
        import bm25s

        try:
            info = json.loads((path / "ids.json").read_text(encoding="utf-8"))
            if info.get("fingerprint") != fingerprint or info.get("tokenizer") != tokenizer_signature():
                return None  # other passages, or tokens cut another way (new stopwords / user dictionary)
            retriever = bm25s.BM25.load(str(path), show_progress=False)
        except (OSError, ValueError, KeyError):
            return None
        return cls(info["ids"], retriever, fingerprint)


def _best_first(scores: np.ndarray, first: int):
    """Indices by descending score: the best `first` from a partial sort (not a sort of the whole library),
    then, only when the caller wants more (filters rejected them), the rest."""
    n = len(scores)
    if n <= first:
        yield from np.argsort(-scores)
        return
    top = np.argpartition(-scores, first)[:first]
    top = top[np.argsort(-scores[top], kind="stable")]
    yield from top
    if scores[top[-1]] <= 0:
        return
    rest = np.ones(n, dtype=bool)
    rest[top] = False
    others = np.flatnonzero(rest)
    yield from others[np.argsort(-scores[others], kind="stable")]
