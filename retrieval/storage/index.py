"""Build the index: corpus -> passages -> Chroma collection (+ BM25 cache), atomically.

A build that finds the same passages and embedder as the active index does nothing. Otherwise it
embeds only passages whose content hash is new (vectors of unchanged passages are copied from the
active collection), writes a fresh collection, checks it, and only then switches the pointer.
"""
from __future__ import annotations

import hashlib
import json
import logging
import shutil
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from retrieval.errors import AssistantError, DocumentError, IndexFailure, IndexNotReady
from retrieval.retrievers.bm25 import BM25Retriever
from retrieval.ingest.documents import Document, iter_corpus
from retrieval.storage.embedders import Embedder
from retrieval.passage import Passage
from retrieval.readers import ReadLimits
from retrieval.ingest.regions import annotate
from retrieval.ingest.segment import PASSAGE_MAX, segment
from retrieval.storage.store import PassageStore, StoreConfig, is_disk_full

log = logging.getLogger(__name__)
Progress = Callable[[int, int], None]
# What a passages collection holds and how (metadata fields, bounds, the pointer's keys). Bumped when that
# changes; an index of another format is never read: it is rebuilt from the corpus (with a notice).
# 1: no "format" key (before the second hardening round); 2: bounded passages and metadata, retired indexes.
INDEX_FORMAT = 2


def index_format(info: dict) -> int:
    try:
        return int(info.get("format", 1))
    except (TypeError, ValueError):
        return 1


def outdated_notice(info: dict) -> str | None:
    """A notice when the index `info` describes was written in another format than this version's."""
    found = index_format(info)
    if found == INDEX_FORMAT:
        return None
    return (f"the index was written by {'an older' if found < INDEX_FORMAT else 'a newer'} version of the product "
            f"(index format {found}; this version reads format {INDEX_FORMAT})")


@dataclass(frozen=True)
class IndexConfig:
    """What a build reads and where it writes: the corpus, the store (and its data dir for the BM25
    cache), and the limits of one document's read."""

    corpus_dir: Path
    store: StoreConfig
    limits: ReadLimits = field(default_factory=ReadLimits)
    max_passage_chars: int = PASSAGE_MAX  # no passage is longer (PA_MAX_PASSAGE_CHARS)
    max_document_passages: int = 2000  # a document with more passages is refused (PA_MAX_DOCUMENT_PASSAGES)

    @property
    def data_dir(self) -> Path:
        return Path(self.store.data_dir)


@dataclass
class BuildReport:
    status: str  # "unchanged" | "built"
    collection: str
    passages: int
    documents: int
    embedded: int = 0
    reused: int = 0
    seconds: float = 0.0
    errors: list[DocumentError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # `file: what` went wrong on some pages of indexed documents
    notice: str = ""  # e.g. an index of an older format was rebuilt
    embed_seconds: float = 0.0  # of `seconds`, the time spent embedding (passages, and sentences by the caller)


def fingerprint(passages: list[Passage], embedder_name: str) -> str:
    h = hashlib.sha1(embedder_name.encode())
    for p in sorted(passages, key=lambda p: p.id):
        # metadata too: a sidecar's new status or expiry, or a passage's page, must reach the index
        meta = json.dumps(p.meta, sort_keys=True, ensure_ascii=False, default=str)
        h.update(f"{p.id}\x1f{p.content_hash}\x1f{p.doc_title}\x1f{meta}\x1e".encode())
    return h.hexdigest()


def document_passages(doc: Document, max_passage_chars: int = PASSAGE_MAX,
                      max_document_passages: int = 2000) -> list[Passage]:
    """The passages of one document; DocumentError when there are none, or more than the limit."""
    try:
        ps = annotate(doc, segment(doc, passage_max=max_passage_chars))  # OCR pages and table rows: `ocr`, `bbox`
    except Exception as exc:  # a malformed document is reported and skipped
        raise DocumentError(f"could not be segmented: {exc}", path=doc.path) from exc
    if not ps:
        raise DocumentError("no text passages found", path=doc.path)
    if len(ps) > max_document_passages:
        raise DocumentError(f"gives {len(ps):,} passages; at most {max_document_passages:,} are allowed per document "
                            "(PA_MAX_DOCUMENT_PASSAGES): split it", path=doc.path)
    return ps


def load_passages(corpus_dir: Path, limits: ReadLimits | None = None, max_passage_chars: int = PASSAGE_MAX,
                  max_document_passages: int = 2000) -> tuple[list[Passage], list[Document], list[DocumentError]]:
    docs, errors = iter_corpus(corpus_dir, limits)
    passages: list[Passage] = []
    good: list[Document] = []
    for doc in docs:
        try:
            ps = document_passages(doc, max_passage_chars, max_document_passages)
        except DocumentError as exc:
            errors.append(exc)
            continue
        passages.extend(ps)
        good.append(doc)
    return passages, good, errors


def bm25_dir(data_dir: Path, collection_name: str) -> Path:
    return Path(data_dir) / "bm25" / collection_name


def build_index(
    config: IndexConfig,
    store: PassageStore,
    embedder_factory: Callable[[], Embedder],
    embedder_name: str,
    *,
    rebuild: bool = False,
    progress: Progress | None = None,
) -> BuildReport:
    started = time.perf_counter()
    passages, docs, errors = load_passages(config.corpus_dir, config.limits, config.max_passage_chars,
                                           config.max_document_passages)
    if not passages:
        detail = "; ".join(str(e) for e in errors) or "no documents"
        raise IndexFailure(f"nothing to index in {config.corpus_dir}: {detail}")
    fp = fingerprint(passages, embedder_name)
    warnings = [f"{Path(d.path).name}: {w}" for d in docs for w in d.warnings]

    current = None
    try:
        current = store.active()
    except IndexNotReady:
        current = None
    notice = outdated_notice(current.info) if current is not None else None
    if notice:  # never read an index of another format, not even its vectors: rebuild from the corpus
        log.warning("%s; rebuilding it from the corpus", notice)
        rebuild = True
    if current is not None and not rebuild and current.info.get("fingerprint") == fp:
        return BuildReport("unchanged", current.name, len(passages), len(docs), 0, 0,
                           time.perf_counter() - started, errors, warnings)

    # vectors we already have, by content hash (same embedder only)
    reuse: dict[str, np.ndarray] = {}
    if current is not None and not rebuild and current.info.get("embedder") == embedder_name:
        old, old_emb = store.read_all(current.collection, with_embeddings=True)
        if old_emb is not None:
            reuse = {p.content_hash: old_emb[i] for i, p in enumerate(old)}

    missing = [i for i, p in enumerate(passages) if p.content_hash not in reuse]
    vectors: dict[int, np.ndarray] = {i: reuse[p.content_hash] for i, p in enumerate(passages) if p.content_hash in reuse}
    embed_started = time.perf_counter()
    if missing:
        embedder = embedder_factory()
        batch = 32
        done = 0
        for start in range(0, len(missing), batch):
            idx = missing[start : start + batch]
            emb = embedder.embed_passages([passages[i].index_text for i in idx])
            for i, v in zip(idx, emb):
                vectors[i] = v
            done += len(idx)
            if progress:
                progress(done, len(missing))
    embed_seconds = time.perf_counter() - embed_started
    matrix = np.vstack([vectors[i] for i in range(len(passages))]).astype(np.float32)

    build_id = time.strftime("%Y%m%d%H%M%S") + "-" + uuid.uuid4().hex[:6]
    info = {
        "format": INDEX_FORMAT,
        "fingerprint": fp,
        "embedder": embedder_name,
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "passages": len(passages),
        "documents": len(docs),
    }
    collection = None
    try:
        collection = store.create_build(build_id, info)
        store.add(collection, passages, matrix)
        if collection.count() != len(passages):
            raise IndexFailure(f"wrote {collection.count()} of {len(passages)} passages; keeping the previous index")
        bm25 = BM25Retriever.build([p.id for p in passages], [p.index_text for p in passages], fp)
        bm25.save(bm25_dir(config.data_dir, collection.name))
    except BaseException as exc:
        if collection is not None:
            try:
                store.client.delete_collection(collection.name)
            except Exception:  # best effort; the next build removes leftovers
                pass
            shutil.rmtree(bm25_dir(config.data_dir, collection.name), ignore_errors=True)  # a half-written cache
        if isinstance(exc, Exception) and (is_disk_full(exc) or not isinstance(exc, AssistantError)):
            # a full disk (or any store failure) is one line for the user, never a traceback
            log.debug("writing the new index failed", exc_info=True)
            raise write_error(config.store, exc, current) from exc
        raise
    store.activate(collection, info)  # the switch: one write
    collect_garbage(config, store)
    _drop_stale_bm25(config.data_dir, collection.name)
    return BuildReport("built", collection.name, len(passages), len(docs), len(missing),
                       len(passages) - len(missing), time.perf_counter() - started, errors, warnings,
                       notice=f"{notice}; rebuilt from the corpus" if notice else "", embed_seconds=embed_seconds)


def collect_garbage(config: IndexConfig, store: PassageStore) -> list[str]:
    """Drop the old indexes no reader needs any more (see `PassageStore.drop_inactive`), and their BM25 caches."""
    from retrieval.storage.leases import Leases

    try:
        held = Leases(store).held(config.store.lease_seconds)
        dropped = store.drop_inactive(config.store.retain_seconds, held)
    except Exception as exc:  # noqa: BLE001 - old indexes are dropped next time
        log.warning("could not drop old indexes: %s", exc)
        return []
    for name in dropped:
        shutil.rmtree(bm25_dir(config.data_dir, name), ignore_errors=True)
    return dropped


def write_error(store: StoreConfig, exc: BaseException, current) -> IndexFailure:
    """One line naming where the write failed, why, and that the previous index is untouched."""
    where = f"the Chroma server at {store.address}" if store.chroma_host else str(store.data_dir)
    keep = (f"the previous index {current.name} is unchanged and still serves" if current is not None
            else "no index was written")
    reason = " ".join(f"{type(exc).__name__}: {exc}".split())  # one line
    if is_disk_full(exc):
        return IndexFailure(f"not enough disk space to write the new index in {where} ({reason}); {keep}. "
                           "Free some space and run the command again.")
    hint = (" Check the free disk space, file size limits and permissions there."
            if "i/o error" in reason.lower() or isinstance(exc, OSError) else "")
    return IndexFailure(f"writing the new index in {where} failed ({reason}); {keep}.{hint}")


def _drop_stale_bm25(data_dir: Path, keep: str) -> None:
    root = Path(data_dir) / "bm25"
    if not root.is_dir():
        return
    for child in root.iterdir():
        if child.name != keep:
            shutil.rmtree(child, ignore_errors=True)
