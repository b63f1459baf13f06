"""Vectors kept by text across builds: `CachedEmbedder` (PA_EMBED_CACHE_DIR).

A build reuses the vectors of the index it replaces; a rebuild (`index --rebuild`), a new data directory, a
replica with its own embedded store or a CI machine starts from nothing and embeds every passage and every
sentence again (about a minute for the plan on 2 cores). With PA_EMBED_CACHE_DIR set, the vectors are also
kept in `<dir>/vectors.sqlite3`, keyed by (embedder name, text): any process on the machine that embeds the
same text with the same embedder reads them instead. Queries are never cached.

The cache is an optimisation only: one that cannot be opened, read or written is reported once (a warning)
and the texts are embedded as if it were not there. SQLite serialises writers of several processes.
"""
from __future__ import annotations

import hashlib
import logging
import sqlite3
from pathlib import Path

import numpy as np

from retrieval.storage.embedders import Embedder

log = logging.getLogger(__name__)

FILE = "vectors.sqlite3"
BUSY_MS = 30_000


class CachedEmbedder:
    """An `Embedder` that looks passage texts up in the cache first and stores what it had to embed."""

    def __init__(self, inner: Embedder, cache_dir: Path):
        self.inner = inner
        self.name = inner.name
        self.path = Path(cache_dir) / FILE
        self.hits = 0  # texts read from the cache by this instance
        self.misses = 0  # texts embedded by the inner embedder
        self._broken = False

    def embed_query(self, text: str) -> np.ndarray:
        return self.inner.embed_query(text)

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        keys = [self._key(t) for t in texts]
        found = self._read(sorted(set(keys)))
        missing: dict[str, int] = {}  # each text the cache does not hold, once: its key -> its first position
        for i, k in enumerate(keys):
            if k not in found:
                missing.setdefault(k, i)
        if missing:
            fresh = np.asarray(self.inner.embed_passages([texts[i] for i in missing.values()]), dtype=np.float32)
            new = dict(zip(missing, fresh))
            self._write(new)
            found.update(new)
        self.hits += len(texts) - len(missing)
        self.misses += len(missing)
        if not texts:
            return self.inner.embed_passages([])
        return np.vstack([found[k] for k in keys]).astype(np.float32)

    def _key(self, text: str) -> str:
        return hashlib.sha256(f"{self.name}\0{text}".encode("utf-8")).hexdigest()

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        con = sqlite3.connect(self.path, timeout=BUSY_MS / 1000)
        con.execute("CREATE TABLE IF NOT EXISTS vectors (key TEXT PRIMARY KEY, dim INTEGER, vec BLOB)")
        return con

    def _read(self, keys: list[str]) -> dict[str, np.ndarray]:
        if self._broken or not keys:
            return {}
        out: dict[str, np.ndarray] = {}
        try:
            con = self._connect()
            try:
                for start in range(0, len(keys), 500):  # SQLite's limit on bound parameters
                    chunk = keys[start : start + 500]
                    rows = con.execute(f"SELECT key, dim, vec FROM vectors WHERE key IN ({','.join('?' * len(chunk))})",
                                       chunk)
                    for key, dim, blob in rows:
                        vec = np.frombuffer(blob, dtype=np.float32)
                        if vec.shape == (dim,):  # a damaged row is embedded again
                            out[key] = vec
            finally:
                con.close()
        except (sqlite3.Error, OSError) as exc:
            self._give_up(exc)
        return out

    def _write(self, vectors: dict[str, np.ndarray]) -> None:
        if self._broken or not vectors:
            return
        try:
            con = self._connect()
            try:
                with con:
                    con.executemany("INSERT OR REPLACE INTO vectors (key, dim, vec) VALUES (?, ?, ?)",
                                    [(k, int(v.shape[0]), np.ascontiguousarray(v, dtype=np.float32).tobytes())
                                     for k, v in vectors.items()])
            finally:
                con.close()
        except (sqlite3.Error, OSError) as exc:
            self._give_up(exc)

    def _give_up(self, exc: BaseException) -> None:
        self._broken = True
        log.warning("the vector cache %s cannot be used (%s); embedding without it", self.path, exc)
