"""Chroma: the one source of truth for passages (text, metadata, vectors).

Every build writes a new collection `<prefix>-passages-<build id>`; a small pointer collection
`<prefix>-meta` names the active one in its metadata. Switching the pointer is a single write,
so a crash mid-build leaves the previous index serving. The same scheme works for the embedded
`PersistentClient` and for a Chroma server (`chromadb.HttpClient`).

The collection a switch retires is kept (the pointer records when it was retired) until it has been
retired for `retain_seconds` and no serving process holds a lease on it (`retrieval.storage.leases`): readers
that have not switched yet, and requests still running on it, never lose it.
"""
from __future__ import annotations

import errno
import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from retrieval.errors import IndexNotReady, StoreUnavailable
from retrieval.passage import Passage

log = logging.getLogger(__name__)
PAGE = 500


@dataclass(frozen=True)
class StoreConfig:
    """Where the passages live: an embedded Chroma store under `data_dir`, or a Chroma server."""

    data_dir: Path
    chroma_host: str | None = None
    chroma_port: int = 8000
    chroma_ssl: bool = False
    collection_prefix: str = "pa"
    retain_seconds: float = 120.0  # a retired index is kept at least this long (PA_INDEX_RETAIN_SECONDS)
    lease_seconds: float = 60.0  # a reader that has not renewed its lease for this long holds nothing

    @property
    def address(self) -> str:
        """host:port of the server, or the embedded store's directory."""
        return f"{self.chroma_host}:{self.chroma_port}" if self.chroma_host else str(Path(self.data_dir) / "chroma")

    @property
    def label(self) -> str:
        """The store named for a person, with the settings that choose it."""
        if self.chroma_host:
            return f"the Chroma server at {self.address} (PA_CHROMA_HOST/PA_CHROMA_PORT)"
        return f"the embedded Chroma store at {self.address} (PA_DATA_DIR)"


def make_client(config: StoreConfig):
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False)
    try:
        if config.chroma_host:
            client = chromadb.HttpClient(
                host=config.chroma_host,
                port=config.chroma_port,
                ssl=config.chroma_ssl,
                settings=chroma_settings,
            )
            _bound_timeouts(client)
            return client
        path = Path(config.data_dir) / "chroma"
        path.mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(path=str(path), settings=chroma_settings)
    except Exception as exc:  # chromadb raises ValueError/ConnectionError/its own errors
        where = config.label.removeprefix("the ")
        if is_disk_full(exc):  # SQLite needs a little room even to open the store
            raise StoreUnavailable(f"not enough disk space to open the {where}: {exc}") from exc
        raise StoreUnavailable(f"cannot open the {where}: {exc}") from exc


def open_store(config: StoreConfig) -> "PassageStore":
    """The passage store `config` names (client plus collection prefix)."""
    return PassageStore(make_client(config), config.collection_prefix)


_DISK_FULL_ERRNOS = {errno.ENOSPC, errno.EFBIG, errno.EDQUOT}
_DISK_FULL_TEXT = ("disk is full", "no space left", "file too large", "quota exceeded", "disk quota",
                   "os error 28", "os error 27", "os error 122")


def is_disk_full(exc: BaseException | None) -> bool:
    """ENOSPC / EFBIG / EDQUOT anywhere in the chain, or the same said by SQLite or Chroma's Rust core."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, OSError) and exc.errno in _DISK_FULL_ERRNOS:
            return True
        if any(t in str(exc).lower() for t in _DISK_FULL_TEXT):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


HTTP_TIMEOUT = (5.0, 60.0)  # s: connect, and read/write/pool


def _bound_timeouts(client) -> None:
    """chromadb's HTTP client waits forever (httpx timeout=None): a hung or black-holed server would hang
    every request thread. Bound it: connecting fails after 5 s, any call after 60 s."""
    session = getattr(getattr(client, "_server", None), "_session", None)
    if session is None:  # another chromadb layout: keep its defaults
        log.debug("cannot set timeouts on the Chroma client (%s)", type(client).__name__)
        return
    import httpx

    session.timeout = httpx.Timeout(HTTP_TIMEOUT[1], connect=HTTP_TIMEOUT[0])


def retired_times(info: dict[str, Any]) -> dict[str, float]:
    """collection -> when it was retired, from the pointer's metadata."""
    try:
        got = json.loads(info.get("retired") or "{}")
    except ValueError:
        return {}
    return {str(k): float(v) for k, v in got.items()} if isinstance(got, dict) else {}


def build_time(build_id: str) -> float | None:
    """When a build started, from its id (`20250101120000-ab12cd`), or None."""
    try:
        return time.mktime(time.strptime(build_id[:14], "%Y%m%d%H%M%S"))
    except ValueError:
        return None


@dataclass
class ActiveIndex:
    collection: Any
    info: dict[str, Any]

    @property
    def name(self) -> str:
        return self.collection.name


class PassageStore:
    def __init__(self, client, prefix: str = "pa"):
        self.client = client
        self.prefix = prefix
        self.meta_name = f"{prefix}-meta"
        self.passages_prefix = f"{prefix}-passages-"

    def _call(self, what: str, fn, *args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except Exception as exc:
            if type(exc).__name__ in {"NotFoundError", "InvalidCollectionException"}:
                raise
            raise StoreUnavailable(f"Chroma failed to {what}: {exc}") from exc

    def pointer(self) -> dict[str, Any] | None:
        try:
            meta = self._call("read the index pointer", self.client.get_collection, self.meta_name)
        except Exception as exc:
            if isinstance(exc, StoreUnavailable):
                raise
            return None
        info = dict(meta.metadata or {})
        return info if info.get("active") else None

    def active(self) -> ActiveIndex:
        info = self.pointer()
        if not info:
            raise IndexNotReady("no index has been built yet: run `python -m assistant index`")
        try:
            col = self._call("open the active collection", self.client.get_collection, info["active"])
        except StoreUnavailable:
            raise
        except Exception as exc:
            raise IndexNotReady(f"the active collection {info['active']!r} is missing: rebuild the index") from exc
        return ActiveIndex(col, info)

    def create_build(self, build_id: str, info: dict[str, Any]):
        name = f"{self.passages_prefix}{build_id}"
        return self._call(
            "create a collection",
            self.client.create_collection,
            name,
            metadata={k: v for k, v in info.items() if v is not None} or None,
            configuration={"hnsw": {"space": "cosine"}},
            embedding_function=None,
        )

    def activate(self, collection, info: dict[str, Any]) -> None:
        """Point readers at `collection`: one metadata write, which also records when the collection it
        replaces was retired (kept for `retain_seconds`, see `drop_inactive`)."""
        meta = self._call(
            "open the index pointer",
            self.client.get_or_create_collection,
            self.meta_name,
            embedding_function=None,
        )
        old = dict(meta.metadata or {})
        names = set(self.passage_collections())
        retired = {k: v for k, v in retired_times(old).items() if k in names}
        if old.get("active") and old["active"] != collection.name:
            retired[old["active"]] = time.time()
        info = {k: v for k, v in info.items() if k not in ("active", "retired")}
        self._call("switch the index pointer", meta.modify,
                   metadata={**info, "active": collection.name, "retired": json.dumps(retired)})

    def passage_collections(self) -> list[str]:
        return [n for n in (c if isinstance(c, str) else c.name
                            for c in self._call("list collections", self.client.list_collections))
                if n.startswith(self.passages_prefix)]

    def drop_inactive(self, keep_for: float = 0.0, in_use: set[str] | frozenset[str] = frozenset()) -> list[str]:
        """Delete the passages collections no reader needs: not active, not in `in_use` (held by a reader),
        and retired (or, a build never activated, started) at least `keep_for` seconds ago."""
        info = self.pointer() or {}
        retired = retired_times(info)
        now = time.time()
        dropped = []
        for name in self.passage_collections():
            if name == info.get("active") or name in in_use:
                continue
            since = retired.get(name) or build_time(name[len(self.passages_prefix):])
            if since is not None and now - since < keep_for:
                continue
            try:
                self.client.delete_collection(name)
                dropped.append(name)
            except Exception as exc:  # another process may have removed it
                log.warning("could not delete old collection %s: %s", name, exc)
        return dropped

    @staticmethod
    def add(collection, passages: list[Passage], embeddings: np.ndarray) -> None:
        for i in range(0, len(passages), PAGE):
            chunk = passages[i : i + PAGE]
            collection.add(
                ids=[p.id for p in chunk],
                documents=[p.text for p in chunk],
                metadatas=[p.to_metadata() for p in chunk],
                embeddings=embeddings[i : i + PAGE].tolist(),
            )

    def read_all(self, collection, with_embeddings: bool = False) -> tuple[list[Passage], np.ndarray | None]:
        include = ["documents", "metadatas"] + (["embeddings"] if with_embeddings else [])
        total = self._call("count passages", collection.count)
        passages: list[Passage] = []
        vectors: list[Any] = []
        for offset in range(0, total, PAGE):
            got = self._call("read passages", collection.get, include=include, limit=PAGE, offset=offset)
            for j, pid in enumerate(got["ids"]):
                passages.append(Passage.from_record(pid, got["documents"][j], got["metadatas"][j]))
            if with_embeddings:
                vectors.extend(got["embeddings"])
        order = sorted(range(len(passages)), key=lambda i: (passages[i].doc_id, passages[i].order))
        passages = [passages[i] for i in order]
        emb = np.asarray([vectors[i] for i in order], dtype=np.float32) if with_embeddings else None
        return passages, emb
