"""The dense retriever: nearest passages in the Chroma collection for the embedded query."""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from retrieval.storage.embedders import Embedder
from retrieval.retrievers.filters import PassageFilter
from retrieval.retrievers.fusion import Ranking


class VectorRetriever:
    name = "dense"

    def __init__(self, collection, embedder: Embedder):
        self.collection = collection
        self.embedder = embedder
        # the answerer compares the same query with sentence vectors: embedded once per text
        self.query_vector = lru_cache(maxsize=512)(embedder.embed_query)

    def search(self, query: str, k: int, keep: PassageFilter, extra: str = "") -> Ranking:
        """Up to k (passage id, cosine similarity), best first; only passages `keep` accepts. The words added to
        the query (`extra`) are not embedded: related words pull the vector off the question's subject."""
        vec: np.ndarray = self.query_vector(query)
        res = self.collection.query(query_embeddings=[vec.tolist()], n_results=k, where=keep.where,
                                    include=["distances"])
        return [(pid, 1.0 - float(d)) for pid, d in zip(res["ids"][0], res["distances"][0]) if keep.accept(pid)]
