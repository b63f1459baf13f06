"""Which index each serving process reads, written where every process sees it: the store itself.

An old index (a passages collection that is no longer active) is dropped only when it has been retired
for a while (`StoreConfig.retain_seconds`: requests still running on it finish) AND no reader holds a
lease on it (a replica that has not switched yet keeps it). A lease is a record in the small collection
`<prefix>-readers`: reader id -> the collection it serves and when it last said so. A reader that stops
renewing its lease (it died, or hangs) loses it after `StoreConfig.lease_seconds`.

    leases = Leases(store)
    leases.hold(reader_id, "pa-passages-…")     # on load, on every switch, and every few seconds
    leases.held(ttl)                            # the collections some live reader holds
    leases.release(reader_id)                   # on shutdown
"""
from __future__ import annotations

import logging
import os
import socket
import time
import uuid

log = logging.getLogger(__name__)


def new_reader_id() -> str:
    """host:pid:random — unique per serving process (a restarted process gets a new one)."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class Leases:
    def __init__(self, store):
        self.store = store
        self.name = f"{store.prefix}-readers"
        self._col = None

    def _collection(self):
        if self._col is None:
            self._col = self.store._call("open the reader leases", self.store.client.get_or_create_collection,
                                         self.name, embedding_function=None)
        return self._col

    def hold(self, reader: str, collection: str) -> None:
        col = self._collection()
        self.store._call("renew a reader lease", col.upsert, ids=[reader], embeddings=[[0.0]],
                         metadatas=[{"collection": collection, "seen": time.time()}])

    def release(self, reader: str) -> None:
        try:
            self._collection().delete(ids=[reader])
        except Exception as exc:  # noqa: BLE001 - it expires by itself
            log.debug("could not release the reader lease %s: %s", reader, exc)

    def held(self, ttl: float) -> set[str]:
        """The collections a reader has held within the last `ttl` seconds."""
        got = self.store._call("read the reader leases", self._collection().get, include=["metadatas"])
        now = time.time()
        return {str(m.get("collection")) for m in got.get("metadatas") or []
                if m and now - float(m.get("seen", 0)) <= ttl}
