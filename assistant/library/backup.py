"""Backup and restore of the library (corpus files and their metadata), the active index and the feedback.

    backup(settings, dest)     # a consistent snapshot while the server keeps serving
    restore(settings, src)     # all of it back in one step, or a refusal naming why (nothing changed)

A backup is a directory:

    manifest.json          format, when, the product and index formats, the embedder, counts, and the
                           SHA-256 of every other file (a restore checks them all first)
    corpus/                the documents and their sidecars, as in PA_CORPUS_DIR (hidden files left out)
    index/info.json        the active index's pointer information (fingerprint, embedder, format)
    index/passages.jsonl   every passage: id, text, metadata
    index/embeddings.npy   their vectors, in the same order (a restore embeds nothing)
    feedback.jsonl         the chat's feedback (from the records database, PA_DATABASE_URL), one vote a line

`backup` holds the library lock (no document is added or removed meanwhile; questions are answered as
usual: reads take no lock) and writes into a hidden sibling of `dest`, renamed to `dest` when complete.
`restore` checks the manifest and every checksum, stages the corpus next to PA_CORPUS_DIR and the index
as a new collection (not active), then switches: the corpus directory is exchanged with the staged one
(one renameat2(RENAME_EXCHANGE) on Linux), the index pointer is switched (one write; running servers follow
it within PA_INDEX_POLL_SECONDS) and the feedback in the records database replaced (one transaction). The corpus it replaced is kept
beside it (`.<corpus>.before-restore-<time>`). A backup whose index has another format, or another
embedder than PA_EMBEDDER, has its index rebuilt from its corpus (with a notice), never read.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import hashlib
import io
import json
import logging
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from assistant.library.backup_check import (
    PassageLimits,
    backup_files,
    check_passages,
    check_signature,
    check_vectors,
    copy_inside,
    read_inside,
    sha256_inside,
    sign,
)
from assistant.errors import BackupError, IndexFailure
from assistant.library.feedback import feedback_path
from assistant.records import Database
from assistant.records.feedback import export_jsonl, replace_all
from assistant.library.documents import library_lock
from assistant.settings import Settings
from retrieval.storage.embedders import embedder_name
from retrieval.storage.index import INDEX_FORMAT, bm25_dir, collect_garbage, outdated_notice
from retrieval.storage.store import open_store

log = logging.getLogger(__name__)
BACKUP_FORMAT = 1


@dataclass
class BackupReport:
    path: Path
    documents: int
    passages: int
    files: int
    feedback_lines: int
    seconds: float
    notices: list[str] = field(default_factory=list)
    kept: Path | None = None  # restore: where the replaced corpus was kept


def _sha256(path: Path) -> str:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def _visible_files(root: Path) -> list[Path]:
    """Every file under `root` not in a hidden directory and not hidden itself (what the corpus reader sees)."""
    return sorted(p for p in root.rglob("*") if p.is_file()
                  and not any(part.startswith(".") for part in p.relative_to(root).parts))


# ------------------------------------------------------------------ backup
def backup(settings: Settings, dest: Path) -> BackupReport:
    started = time.perf_counter()
    dest = Path(dest)
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise BackupError(f"{dest} exists and is not an empty directory; give a new directory for the backup")
    work = dest.with_name(f".{dest.name}.partial-{os.getpid()}")
    shutil.rmtree(work, ignore_errors=True)
    try:
        with library_lock(settings):
            report = _write(settings, work)
        if dest.exists():
            dest.rmdir()
        os.replace(work, dest)
    except OSError as exc:
        raise BackupError(f"could not write the backup to {dest}: {exc.strerror or exc}") from exc
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report.path, report.seconds = dest, time.perf_counter() - started
    return report


def _write(settings: Settings, work: Path) -> BackupReport:
    (work / "index").mkdir(parents=True)
    files = _visible_files(settings.corpus_dir)
    for f in files:
        target = work / "corpus" / f.relative_to(settings.corpus_dir)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(f, target)
    store = open_store(settings.store_config())
    active = store.active()
    passages, vectors = store.read_all(active.collection, with_embeddings=True)
    info = {k: v for k, v in active.info.items() if k not in ("active", "retired")}
    (work / "index" / "info.json").write_text(json.dumps(info, ensure_ascii=False, indent=1), encoding="utf-8")
    with open(work / "index" / "passages.jsonl", "w", encoding="utf-8") as fh:
        for p in passages:
            fh.write(json.dumps({"id": p.id, "text": p.text, "metadata": p.to_metadata()}, ensure_ascii=False) + "\n")
    np.save(work / "index" / "embeddings.npy", vectors if vectors is not None else np.zeros((0, 0), np.float32))
    feedback = export_jsonl(Database(settings.database_config()))  # the records database's votes, as JSON lines
    (work / "feedback.jsonl").write_bytes(feedback)
    manifest = {
        "format": BACKUP_FORMAT, "index_format": int(info.get("format", 1)),
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "embedder": info.get("embedder"),
        "documents": len({p.doc_id for p in passages}), "passages": len(passages),
        "files": {str(p.relative_to(work)): _sha256(p) for p in sorted(work.rglob("*")) if p.is_file()},
    }
    if settings.backup_key is not None:
        manifest["signature"] = sign(manifest, settings.backup_key.get_secret_value())
    (work / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
    return BackupReport(work, manifest["documents"], len(passages), len(files), feedback.count(b"\n"), 0.0)


# ------------------------------------------------------------------ restore
def check_backup(src: Path, key: str | None = None) -> dict[str, Any]:
    """The manifest of a complete, unaltered backup this version can read; BackupError naming why not.
    Only regular files and directories, opened without following links (assistant.library.backup_check)."""
    src = Path(src)
    if not src.is_dir():
        raise BackupError(f"{src} is not a backup: it is not a directory")
    try:
        manifest = json.loads(read_inside(src, "manifest.json").decode("utf-8"))
    except BackupError as exc:
        if "is missing" in str(exc):
            raise BackupError(f"{src} is not a backup: it has no manifest.json") from None
        raise
    except ValueError as exc:
        raise BackupError(f"{src}/manifest.json cannot be read: {exc}") from exc
    if not isinstance(manifest, dict):
        raise BackupError(f"{src}/manifest.json is not a backup manifest (a JSON object)")
    found = manifest.get("format")
    if found != BACKUP_FORMAT:
        raise BackupError(f"{src} is a backup of format {found!r}; this version restores format {BACKUP_FORMAT} only")
    check_signature(manifest, key, src)
    files = manifest.get("files", {})
    if not isinstance(files, dict) or not all(isinstance(d, str) for d in files.values()):
        raise BackupError(f"{src}/manifest.json has no list of files with their checksums")
    present = set(backup_files(src))  # refuses links, devices, FIFOs
    for name, digest in files.items():
        if name not in present and (".." in Path(name).parts or Path(name).is_absolute()):
            raise BackupError(f"{src}/manifest.json names a file outside the backup: {name!r}")
        if name not in present:
            raise BackupError(f"{src} is incomplete: {name} is missing")
        if sha256_inside(src, name) != digest:
            raise BackupError(f"{src}/{name} does not match its checksum in manifest.json (altered or damaged)")
    extra = sorted(present - set(files) - {"manifest.json"})
    if extra:
        raise BackupError(f"{src} has files its manifest does not list: {', '.join(extra[:5])}")
    for needed in ("index/info.json", "index/passages.jsonl", "index/embeddings.npy", "feedback.jsonl"):
        if needed not in files:
            raise BackupError(f"{src} is incomplete: {needed} is missing")
    return manifest


def restore(settings: Settings, src: Path, progress=None) -> BackupReport:
    started = time.perf_counter()
    src = Path(src)
    key = settings.backup_key.get_secret_value() if settings.backup_key is not None else None
    manifest = check_backup(src, key)
    try:
        info = json.loads(read_inside(src, "index/info.json").decode("utf-8"))
    except ValueError as exc:
        raise BackupError(f"{src}/index/info.json cannot be read: {exc}") from exc
    if not isinstance(info, dict):
        raise BackupError(f"{src}/index/info.json is not the index information (a JSON object)")
    notices = []
    if notice := outdated_notice(info):
        notices.append(f"{notice}: its index is rebuilt from its corpus")
    elif info.get("embedder") != embedder_name(settings.embedder):
        notices.append(f"the backup's index was made with the embedder {info.get('embedder')!r}, PA_EMBEDDER gives "
                       f"{embedder_name(settings.embedder)!r}: its index is rebuilt from its corpus")
    corpus = settings.corpus_dir
    stamp = time.strftime("%Y%m%d%H%M%S")
    staged = corpus.with_name(f".{corpus.name}.restore-{stamp}")
    kept = corpus.with_name(f".{corpus.name}.before-restore-{stamp}")
    with library_lock(settings):
        shutil.rmtree(staged, ignore_errors=True)
        staged.mkdir()
        store = open_store(settings.store_config())
        collection = None
        fb_tmp = feedback_path(settings.data_dir).with_name(f".feedback.jsonl.restore-{stamp}")
        try:
            for name, digest in manifest["files"].items():  # copied as summed: a file swapped since is refused
                if Path(name).parts[0] == "corpus" and copy_inside(src, name, staged.joinpath(
                        *Path(name).parts[1:])) != digest:
                    raise BackupError(f"{src}/{name} changed while it was restored; nothing was restored")
            if not notices:
                collection, info = _stage_index(settings, store, src, info)
            fb_tmp.parent.mkdir(parents=True, exist_ok=True)
            fb_tmp.unlink(missing_ok=True)
            if copy_inside(src, "feedback.jsonl", fb_tmp) != manifest["files"]["feedback.jsonl"]:
                raise BackupError(f"{src}/feedback.jsonl changed while it was restored; nothing was restored")
            feedback = fb_tmp.read_text(encoding="utf-8")  # the copy that was summed, never the backup's file again
            fb_tmp.unlink()
        except BaseException:
            shutil.rmtree(staged, ignore_errors=True)
            fb_tmp.unlink(missing_ok=True)
            if collection is not None:
                store.client.delete_collection(collection.name)
            raise
        # the switch: corpus (one exchange), index pointer (one write), feedback (one transaction)
        _exchange(staged, corpus, kept)
        if collection is not None:
            store.activate(collection, info)
            collect_garbage(settings.index_config(), store)
        replace_all(Database(settings.database_config()), feedback)
        if notices:  # the index of another format or embedder: built from the restored corpus
            from assistant.core import Assistant

            Assistant.build(settings, rebuild=True, progress=progress)
    return BackupReport(src, manifest["documents"], manifest["passages"],
                        len(_visible_files(corpus)), feedback.count("\n"),
                        time.perf_counter() - started, notices, kept)


def _stage_index(settings: Settings, store, src: Path, info: dict[str, Any]):
    """The backup's passages and vectors as a new, not yet active, collection (+ its BM25 cache)."""
    from retrieval.retrievers.bm25 import BM25Retriever

    limits = PassageLimits(settings.max_passage_chars, settings.max_meta_chars, settings.max_document_passages)
    passages = check_passages(io.BytesIO(read_inside(src, "index/passages.jsonl")), limits,
                              f"{src}/index/passages.jsonl")  # held to an upload's limits: checksums prove nothing
    try:
        vectors = np.load(io.BytesIO(read_inside(src, "index/embeddings.npy")), allow_pickle=False)
    except ValueError as exc:
        raise BackupError(f"{src}/index/embeddings.npy cannot be read: {exc}") from exc
    vectors = check_vectors(vectors, len(passages), f"{src}/index/embeddings.npy")
    build_id = time.strftime("%Y%m%d%H%M%S") + "-restor"
    info = {**info, "format": INDEX_FORMAT, "restored_at": time.strftime("%Y-%m-%dT%H:%M:%S")}
    collection = store.create_build(build_id, info)
    try:
        store.add(collection, passages, vectors)
        if collection.count() != len(passages):
            raise IndexFailure(f"wrote {collection.count()} of {len(passages)} passages; nothing was restored")
        bm25 = BM25Retriever.build([p.id for p in passages], [p.index_text for p in passages],
                                   info.get("fingerprint", ""))
        bm25.save(bm25_dir(settings.data_dir, collection.name))
    except BaseException:
        store.client.delete_collection(collection.name)
        raise
    return collection, info


RENAME_EXCHANGE = 2


def _exchange(staged: Path, corpus: Path, kept: Path) -> None:
    """Put `staged` where `corpus` is in one step; the old corpus ends up at `kept`."""
    if corpus.exists():
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        renameat2 = getattr(libc, "renameat2", None)
        at_fdcwd = -100
        if renameat2 is not None and renameat2(at_fdcwd, os.fsencode(staged), at_fdcwd, os.fsencode(corpus),
                                               RENAME_EXCHANGE) == 0:
            os.rename(staged, kept)  # staged now holds the old corpus
            return
        log.info("renameat2(RENAME_EXCHANGE) unavailable (errno %d): two renames", ctypes.get_errno())
        os.rename(corpus, kept)
    os.rename(staged, corpus)
