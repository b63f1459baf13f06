"""What a restore believes of a backup: nothing it has not checked.

The checksums in manifest.json catch damage, not tampering (whoever changes a file can recompute them), so
`assistant.library.backup.restore` also has these checks, all before anything changes:

    files      the backup holds regular files and directories only: a symlink, device, FIFO or socket
               anywhere in it is refused, naming it; every file is opened with O_NOFOLLOW and its
               resolved path must lie inside the backup (nothing outside is ever read)
    passages   every row of index/passages.jsonl is held to the limits of an upload: text at most
               PA_MAX_PASSAGE_CHARS, every metadata value at most PA_MAX_META_CHARS, the doc_id rules of
               a sidecar, at most PA_MAX_DOCUMENT_PASSAGES per document, an id and content hash that fit
               the text; the vectors finite and one per passage. The first bad row is named.
    signature  with PA_BACKUP_KEY set, `backup` signs the manifest (HMAC-SHA256 of its canonical JSON,
               which holds every file's SHA-256) and `restore` refuses a backup whose signature is
               missing or does not match: tampering is refused outright.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import stat
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Iterator

import numpy as np

from assistant.errors import BackupError
from retrieval.ingest.documents import MAX_META_FIELDS, MAX_META_KEY_CHARS
from retrieval.passage import Passage
from retrieval.ingest.sidecar import doc_id_problem

SIGNATURE_KEY = "signature"
RESERVED_META = ("doc_id", "doc_title", "section", "section_path", "order", "kind", "content_hash")
KIND_RE = re.compile(r"[a-z_]{1,32}")
MAX_SECTION_DEPTH = 32
MAX_VECTOR_DIM = 8192


# ------------------------------------------------------------------ files
def backup_files(root: Path) -> list[str]:
    """The relative paths of the regular files under `root`; BackupError naming the first entry that is
    neither a regular file nor a directory (a symlink to a file or a directory, a device, a FIFO, a socket)."""
    found: list[str] = []

    def walk(folder: Path) -> None:
        with os.scandir(folder) as entries:
            for entry in sorted(entries, key=lambda e: e.name):
                mode = entry.stat(follow_symlinks=False).st_mode
                rel = str(Path(entry.path).relative_to(root))
                if stat.S_ISDIR(mode):
                    walk(Path(entry.path))
                elif stat.S_ISREG(mode):
                    found.append(rel)
                else:
                    raise BackupError(f"{root} holds {rel}, which is {_kind(mode)}; a backup holds regular files "
                                      "and directories only (nothing outside the backup is read)")

    walk(root)
    return found


def _kind(mode: int) -> str:
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISBLK(mode) or stat.S_ISCHR(mode):
        return "a device"
    return "not a regular file"


def open_inside(root: Path, rel: str) -> IO[bytes]:
    """`root/rel` opened for reading: without following a link, and only if it resolves inside `root`."""
    if Path(rel).is_absolute() or ".." in Path(rel).parts:
        raise BackupError(f"{root}/manifest.json names a file outside the backup: {rel!r}")
    path = root / rel
    real_root = os.path.realpath(root)
    if os.path.commonpath([real_root, os.path.realpath(path)]) != real_root:
        raise BackupError(f"{root}/{rel} leads outside the backup; a backup holds regular files and directories only")
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        raise BackupError(f"{root} is incomplete: {rel} is missing") from None
    except OSError as exc:  # ELOOP: a symbolic link
        raise BackupError(f"{root}/{rel} cannot be opened as a regular file ({exc.strerror}); a backup holds "
                          "regular files and directories only") from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise BackupError(f"{root}/{rel} is not a regular file; a backup holds regular files and directories only")
    return os.fdopen(fd, "rb")


def sha256_inside(root: Path, rel: str) -> str:
    with open_inside(root, rel) as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def read_inside(root: Path, rel: str) -> bytes:
    with open_inside(root, rel) as fh:
        return fh.read()


def copy_inside(root: Path, rel: str, dest: Path) -> str:
    """Copy `root/rel` to `dest` (opened as above) and return the SHA-256 of what was copied."""
    digest = hashlib.sha256()
    dest.parent.mkdir(parents=True, exist_ok=True)
    with open_inside(root, rel) as src, open(dest, "xb") as out:
        while chunk := src.read(1 << 20):
            digest.update(chunk)
            out.write(chunk)
    return digest.hexdigest()


# ------------------------------------------------------------------ signature
def _signed_bytes(manifest: dict[str, Any]) -> bytes:
    body = {k: v for k, v in manifest.items() if k != SIGNATURE_KEY}
    return json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")


def sign(manifest: dict[str, Any], key: str) -> str:
    return hmac.new(key.encode("utf-8"), _signed_bytes(manifest), hashlib.sha256).hexdigest()


def check_signature(manifest: dict[str, Any], key: str | None, src: Path) -> None:
    """With a key (PA_BACKUP_KEY), the manifest must carry a matching signature; without one, nothing is checked."""
    if not key:
        return
    given = manifest.get(SIGNATURE_KEY)
    if not isinstance(given, str):
        raise BackupError(f"{src} is not signed, and PA_BACKUP_KEY is set: only backups signed with that key are "
                          "restored (write one with `backup` while PA_BACKUP_KEY is set)")
    if not hmac.compare_digest(given, sign(manifest, key)):
        raise BackupError(f"{src}/manifest.json has a signature that does not match PA_BACKUP_KEY: the backup was "
                          "altered after it was written, or signed with another key")


# ------------------------------------------------------------------ passages
@dataclass(frozen=True)
class PassageLimits:
    """The limits an upload gets (PA_MAX_PASSAGE_CHARS, PA_MAX_META_CHARS, PA_MAX_DOCUMENT_PASSAGES)."""

    max_passage_chars: int
    max_meta_chars: int
    max_document_passages: int


def check_passages(lines: Iterator[bytes], limits: PassageLimits, where: str) -> list[Passage]:
    """The passages of index/passages.jsonl, each checked like an upload's; BackupError naming the first bad row."""
    passages: list[Passage] = []
    ids: set[str] = set()
    per_doc: Counter = Counter()
    for row, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            p = _passage(line, limits, ids)
        except (ValueError, KeyError, TypeError) as exc:
            raise BackupError(f"{where} row {row}: {exc}; nothing was restored") from None
        per_doc[p.doc_id] += 1
        if per_doc[p.doc_id] > limits.max_document_passages:
            raise BackupError(f"{where} row {row}: document {p.doc_id!r} has more than {limits.max_document_passages:,} "
                              "passages (PA_MAX_DOCUMENT_PASSAGES); nothing was restored")
        ids.add(p.id)
        passages.append(p)
    return passages


def _text(name: str, value: Any, limit: int, setting: str) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{name} is {type(value).__name__}, not text")
    if len(value) > limit:
        raise ValueError(f"{name} has {len(value):,} characters; at most {limit:,} are allowed ({setting})")
    value.encode("utf-8")  # a lone surrogate: UnicodeEncodeError, a ValueError
    return value


def _passage(line: bytes, limits: PassageLimits, ids: set[str]) -> Passage:
    record = json.loads(line)
    if not isinstance(record, dict) or not isinstance(record.get("metadata"), dict):
        raise ValueError("not a passage record {id, text, metadata}")
    md = record["metadata"]
    text = _text("the passage text", record.get("text"), limits.max_passage_chars, "PA_MAX_PASSAGE_CHARS")
    doc_id = _text("doc_id", md.get("doc_id"), 200, "a file name")
    if problem := doc_id_problem(doc_id):
        raise ValueError(f"doc_id {doc_id[:60]!r} {problem}; allowed: letters, digits, '_', '.' and '-', not starting "
                         "with '.', at most 100 characters")
    pid = _text("the passage id", record.get("id"), len(doc_id) + 20, "doc_id:hash")
    if not re.fullmatch(re.escape(doc_id) + r":[0-9a-f]{12}", pid):
        raise ValueError(f"the passage id {pid[:60]!r} is not <doc_id>:<12 hex digits> of its doc_id {doc_id!r}")
    if pid in ids:
        raise ValueError(f"the passage id {pid!r} is given twice")
    _text("doc_title", md.get("doc_title"), limits.max_meta_chars, "PA_MAX_META_CHARS")
    section = json.loads(_text("section", md.get("section"), 64 * limits.max_passage_chars, "its section titles"))
    if not isinstance(section, list) or len(section) > MAX_SECTION_DEPTH:
        raise ValueError(f"section is not a list of at most {MAX_SECTION_DEPTH} titles")
    for title in section:
        _text("a section title", title, limits.max_passage_chars, "PA_MAX_PASSAGE_CHARS")
    if isinstance(md.get("order"), bool) or not isinstance(md.get("order"), int) or md["order"] < 0:
        raise ValueError(f"order {md.get('order')!r} is not a non-negative integer")
    if not KIND_RE.fullmatch(str(md.get("kind", "paragraph"))):
        raise ValueError(f"kind {str(md.get('kind'))[:40]!r} is not a passage kind")
    extra = [k for k in md if k not in RESERVED_META]
    if len(extra) > MAX_META_FIELDS + 8:
        raise ValueError(f"{len(extra)} metadata fields; at most {MAX_META_FIELDS} are allowed")
    for key in extra:
        _text("a metadata field name", key, MAX_META_KEY_CHARS + 4, "at most 64 characters")
        value = md[key]
        if isinstance(value, str):
            _text(f"metadata field {key!r}", value, limits.max_meta_chars, "PA_MAX_META_CHARS")
        elif not isinstance(value, (int, float, bool)):
            raise ValueError(f"metadata field {key!r} is {type(value).__name__}, not a text, number or boolean")
    passage = Passage.from_record(pid, text, md)
    if md.get("content_hash") != passage.content_hash:
        raise ValueError(f"content_hash of {pid!r} does not match its text")
    return passage


def check_vectors(vectors: np.ndarray, passages: int, where: str) -> np.ndarray:
    """One finite float vector per passage; BackupError naming what is wrong."""
    if vectors.dtype.kind not in "fi" or vectors.ndim != 2 or len(vectors) != passages:
        raise BackupError(f"{where}: {passages} passages but vectors of shape {vectors.shape} ({vectors.dtype}); one "
                          "vector of numbers per passage is required; nothing was restored")
    if passages and not 0 < vectors.shape[1] <= MAX_VECTOR_DIM:
        raise BackupError(f"{where}: vectors of {vectors.shape[1]} dimensions; at most {MAX_VECTOR_DIM}")
    vectors = vectors.astype(np.float32)
    if not np.isfinite(vectors).all():
        raise BackupError(f"{where}: a vector holds NaN or infinity; nothing was restored")
    return vectors
