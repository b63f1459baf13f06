"""Where passages and vectors live: the Chroma store and the active-index pointer (store.py), the build that
switches only when complete (index.py), readers' leases on an index (leases.py), the embedders
(embedders.py) and the vector cache shared by builds (vector_cache.py)."""
