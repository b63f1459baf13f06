"""The policy library: add, list and remove documents, keeping corpus/ and the index consistent.

    add_documents(settings, [path], meta)   # validate -> copy into corpus/ (atomic rename) -> incremental build
    remove_document(settings, doc_id)       # move its files (and its versions') out of corpus/ -> incremental build
    list_documents(settings)                # the documents of the active index, with metadata and counts

Every build is atomic (a new Chroma collection, then one pointer switch), and these steps hold a lock
on the data directory, so a crash (kill -9) at any point leaves the index as it was before or after.
A file that cannot be read is rejected before anything changes: its content must be what its name says
(a `.pdf` a PDF, a `.docx` a Word package, text not binary), and a .docx/PDF must stay within the
settings' limits (`max_docx_*`, `max_pdf_pages`, `pdf_timeout_seconds`). The name a file is stored
under is made by `safe_name`, never taken as a path. Adding a new version of a document (its doc_id is in
the library) keeps the previous one as a superseded version (`assistant.library.versions`).
"""
from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

from assistant.errors import AssistantError, DocumentError, InvalidQuery
from assistant.settings import Settings
from assistant.library.versions import archive_previous, base_id, prune_empty
from retrieval.ingest.documents import META_SUFFIXES, load_document
from retrieval.storage.index import BuildReport, document_passages
from retrieval.ingest.regions import PASSAGE_KEYS

Progress = Callable[[int, int], None]
TRASH = ".removed"


@dataclass
class AddedDocument:
    doc_id: str
    title: str
    file: str
    meta: dict[str, Any] = field(default_factory=dict)
    replaced: bool = False
    previous_version: str | None = None  # the doc_id the replaced version is kept under
    warnings: list[str] = field(default_factory=list)  # pages that could not be read (the rest was)


@dataclass
class LibraryResult:
    documents: list[AddedDocument]
    build: BuildReport
    seconds: float


@contextmanager
def library_lock(settings: Settings) -> Iterator[None]:
    """One writer at a time per data directory (several processes or API requests)."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    with open(settings.data_dir / ".library.lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


MAX_STEM_CHARS = 80
MAX_STEM_BYTES = 160  # UTF-8: with `.meta.json`, the `.<name>.<pid>.tmp` and retired-file prefixes, under 255
MAX_SUFFIX_CHARS = 10


def safe_name(name: str) -> str:
    """A file name of our own making: letters (any script), digits, . _ - only; never a path.

    The client's name is only a hint: directories (`/`, `\\`), NUL and other punctuation are dropped,
    it never starts with a dot (hidden files are not read; never `.` or `..`), and it is short enough in
    UTF-8 bytes to be stored with its sidecar and temporary names on any file system (255-byte limit)."""
    base = Path(str(name).replace("\\", "/").replace("\x00", "_")).name
    stem, dot, suffix = base.rpartition(".")
    if not dot:
        stem, suffix = base, ""
    stem = re.sub(r"[^\w.\-]+", "_", stem, flags=re.UNICODE).strip("._") or "document"
    stem = stem[:MAX_STEM_CHARS]
    while len(stem.encode("utf-8")) > MAX_STEM_BYTES:
        stem = stem[:-1]
    stem = stem.rstrip("._") or "document"
    suffix = re.sub(r"[^A-Za-z0-9]", "", suffix).lower()[:MAX_SUFFIX_CHARS]
    return f"{stem}.{suffix}" if suffix else stem


def _sidecars(path: Path) -> list[Path]:
    out = []
    for suffix in META_SUFFIXES:
        for candidate in (path.with_name(path.name + suffix), path.with_name(path.stem + suffix)):
            if candidate.exists() and candidate not in out:
                out.append(candidate)
    return out


def _atomic_copy(src: Path, dest: Path) -> None:
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")  # hidden: never read as a document
    try:
        shutil.copyfile(src, tmp)
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, dest)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise _write_error(dest, exc) from exc


def _atomic_write(dest: Path, text: str) -> None:
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, dest)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise _write_error(dest, exc) from exc


def _write_error(dest: Path, exc: OSError) -> DocumentError:
    from retrieval.storage.store import is_disk_full

    why = "not enough disk space" if is_disk_full(exc) else f"cannot write it ({exc.strerror or exc})"
    return DocumentError(f"{why} in {dest.parent}; the index is unchanged", path=dest.name)


def _indexed_files(settings: Settings) -> dict[str, list[Path]]:
    """doc_id -> the files (document and sidecars) in corpus/ that make it."""
    from retrieval.ingest.documents import iter_corpus

    docs, _errors = iter_corpus(settings.corpus_dir, settings.read_limits())
    return {d.doc_id: [Path(d.path), *_sidecars(Path(d.path))] for d in docs}


def _build(settings: Settings, progress: Progress | None) -> BuildReport:
    from assistant.core import Assistant

    return Assistant.build(settings, progress=progress)


def add_documents(settings: Settings, paths: list[Path], meta: dict[str, Any] | None = None,
                  names: list[str] | None = None, progress: Progress | None = None) -> LibraryResult:
    """Add (or replace) documents. `meta` overrides the sidecar/guessed metadata (for one file only);
    `names`: the file names to store them under (uploads), else the files' own names."""
    started = time.perf_counter()
    paths = [Path(p) for p in paths]
    if not paths:
        raise InvalidQuery("no files given", field="files")
    if meta and len(paths) > 1:
        raise InvalidQuery("metadata can be given for one file at a time", field="meta")
    if names is not None and len(names) != len(paths):
        raise InvalidQuery(f"{len(names)} file names for {len(paths)} files", field="names")
    corpus = settings.corpus_dir
    corpus.mkdir(parents=True, exist_ok=True)
    plans = []
    for i, src in enumerate(paths):
        if not src.is_file():
            raise DocumentError("no such file", path=str(src))
        name = safe_name(names[i] if names else src.name)
        dest = corpus / name
        if dest.parent.resolve() != corpus.resolve() or dest.name != name:  # safe_name makes this impossible
            raise DocumentError("not a safe file name", path=name)
        # validate first: read it where it is, with the metadata it will have
        sidecar_text = None
        merged: dict[str, Any] = {}
        for sc in _sidecars(src):
            if sc.name.endswith(".json"):
                try:
                    merged.update(json.loads(sc.read_text(encoding="utf-8-sig")))
                except (OSError, ValueError) as exc:
                    raise DocumentError(f"metadata is not valid JSON: {exc}", path=str(sc)) from exc
            else:
                import yaml

                try:
                    merged.update(yaml.safe_load(sc.read_text(encoding="utf-8-sig")) or {})
                except (OSError, yaml.YAMLError) as exc:
                    raise DocumentError(f"metadata is not valid YAML: {exc}", path=str(sc)) from exc
        if meta:
            merged.update(meta)
        staging = Path(tempfile.mkdtemp(prefix="pa-add-"))  # outside corpus/: never seen by a build
        try:
            probe = staging / name
            try:
                shutil.copyfile(src, probe)
            except OSError as exc:
                raise DocumentError(f"cannot read: {exc.strerror or exc}", path=str(src)) from exc
            if merged:
                sidecar_text = json.dumps({k: (v.isoformat() if hasattr(v, "isoformat") else v)
                                           for k, v in merged.items()}, ensure_ascii=False, indent=2)
                (staging / f"{name}.meta.json").write_text(sidecar_text, encoding="utf-8")
            # the content must match the name; .docx/PDF size limits. DocumentError: nothing has changed
            doc = load_document(probe, settings.read_limits())
            document_passages(doc, settings.max_passage_chars, settings.max_document_passages)  # within the limits
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        plans.append((src, dest, sidecar_text, doc))
    first_of: dict[str, str] = {}
    for src, dest, _sidecar, doc in plans:  # two of these files would be one document: refuse, change nothing
        if doc.doc_id in first_of:
            raise DocumentError(f"has the doc_id {doc.doc_id!r} of {first_of[doc.doc_id]}, added in the "
                                          "same call; give one of them another file name or doc_id", path=str(src))
        first_of[doc.doc_id] = dest.name

    with library_lock(settings):
        existing = _indexed_files(settings)
        added = []
        taken = {f.name: doc_id for doc_id, files in existing.items() for f in files}
        for src, dest, sidecar_text, doc in plans:
            replaced = doc.doc_id in existing
            if taken.get(dest.name, doc.doc_id) != doc.doc_id:
                dest = _free_name(dest, taken)  # 通知.txt of another document: never overwrite it
            taken[dest.name] = doc.doc_id
            revision = archive_previous(corpus, doc.doc_id, existing[doc.doc_id], src,
                                        lambda f: _retire(settings, f)) if replaced else None
            if revision:  # the previous version is kept under doc_id@vN; this one says so
                sidecar_text = json.dumps({**json.loads(sidecar_text or "{}"), **revision}, ensure_ascii=False, indent=2)
            for old in existing.get(doc.doc_id, []):  # an update may come under another file name
                if old.exists() and old.resolve() != dest.resolve() and old.name != f"{dest.name}.meta.json":
                    _retire(settings, old)
            _atomic_copy(src, dest)
            for stale in _sidecars(dest):
                if sidecar_text is None or stale.name != f"{dest.name}.meta.json":
                    _retire(settings, stale)
            if sidecar_text is not None:
                _atomic_write(corpus / f"{dest.name}.meta.json", sidecar_text)
            added.append(AddedDocument(doc.doc_id, doc.title, dest.name, dict(doc.meta), replaced,
                                       revision["previous_version"] if revision else None, list(doc.warnings)))
        report = _build(settings, progress)
    return LibraryResult(added, report, time.perf_counter() - started)


def _free_name(dest: Path, taken: dict[str, str]) -> Path:
    stem, suffix = dest.stem, dest.suffix
    n = 2
    while f"{stem}-{n}{suffix}" in taken or (dest.parent / f"{stem}-{n}{suffix}").exists():
        n += 1
    return dest.with_name(f"{stem}-{n}{suffix}")


def _retire(settings: Settings, path: Path) -> None:
    """Move a file out of corpus/ (kept under corpus/.removed/, which is never indexed)."""
    trash = settings.corpus_dir / TRASH
    trash.mkdir(exist_ok=True)
    target = trash / f".{time.strftime('%Y%m%d%H%M%S')}-{path.name}"  # hidden: skipped by the corpus reader
    os.replace(path, target)


def remove_document(settings: Settings, doc_id: str, progress: Progress | None = None) -> LibraryResult:
    started = time.perf_counter()
    with library_lock(settings):
        existing = _indexed_files(settings)
        try:
            indexed = {d["doc_id"]: d for d in list_documents(settings)}
        except AssistantError:
            indexed = {}
        if doc_id not in existing and doc_id not in indexed:
            known = ", ".join(sorted(set(existing) | set(indexed))) or "none"
            raise InvalidQuery(f"no document with doc_id {doc_id!r}; known: {known}", field="doc_id")
        ids = {doc_id} | {d for d in existing if base_id(d) == doc_id}  # a document goes with its versions
        if not set(existing) - ids:
            raise InvalidQuery(f"{doc_id!r} is the only document; the index cannot be empty", field="doc_id")
        # none left when an earlier remove was interrupted: just rebuild
        files = existing.get(doc_id, []) + [f for d in sorted(ids - {doc_id}) for f in existing[d]]
        for f in files:
            _retire(settings, f)
        prune_empty(settings.corpus_dir)
        report = _build(settings, progress)
    title = indexed.get(doc_id, {}).get("title", "")
    return LibraryResult([AddedDocument(doc_id, title, files[0].name if files else "")], report,
                         time.perf_counter() - started)


def list_documents(settings: Settings) -> list[dict[str, Any]]:
    """The documents of the active index: doc_id, title, passage count and metadata."""
    from retrieval.storage.store import open_store

    store = open_store(settings.store_config())
    active = store.active()
    passages, _ = store.read_all(active.collection)
    docs: dict[str, dict[str, Any]] = {}
    for p in passages:
        d = docs.setdefault(p.doc_id, {"doc_id": p.doc_id, "title": p.doc_title, "passages": 0,
                                       **{k: v for k, v in p.meta.items() if k not in PASSAGE_KEYS}})
        d["passages"] += 1
    return sorted(docs.values(), key=lambda d: d["doc_id"])
