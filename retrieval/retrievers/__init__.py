"""Passages for a text: the BM25 (bm25.py) and vector (vector.py) retrievers behind one `Retriever` protocol,
the metadata filters (filters.py), fusion (fusion.py), the hybrid searcher that runs them (hybrid.py), and the
vocabulary that maps a question's words to the documents' (glossary.py)."""
