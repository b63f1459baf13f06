"""Documents in corpus/: their text and metadata (from a sidecar `<name>.meta.json`)."""
from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from assistant.errors import DocumentError

log = logging.getLogger(__name__)


@dataclass
class Document:
    doc_id: str
    title: str
    text: str
    path: str
    meta: dict[str, Any] = field(default_factory=dict)


class Reader(Protocol):
    suffixes: tuple[str, ...]

    def read(self, path: Path) -> str: ...


class TextReader:
    """Plain text and Markdown (UTF-8, with or without BOM; GB18030 as a fallback)."""

    suffixes = (".txt", ".md")

    def read(self, path: Path) -> str:
        raw = path.read_bytes()
        for encoding in ("utf-8-sig", "gb18030"):
            try:
                return raw.decode(encoding)
            except UnicodeDecodeError:
                continue
        raise DocumentError(str(path), "not valid UTF-8 or GB18030 text")


READERS: list[Reader] = [TextReader()]
META_SUFFIXES = (".meta.json",)


def _reader_for(path: Path) -> Reader | None:
    for reader in READERS:
        if path.suffix.lower() in reader.suffixes:
            return reader
    return None


def _sidecar(path: Path) -> Path | None:
    for candidate in (path.with_name(path.stem + ".meta.json"), path.with_name(path.name + ".meta.json")):
        if candidate.exists():
            return candidate
    return None


def _slug(stem: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", stem).strip("-._")
    return slug or "doc"


def load_document(path: Path) -> Document:
    reader = _reader_for(path)
    if reader is None:
        allowed = ", ".join(s for r in READERS for s in r.suffixes)
        raise DocumentError(str(path), f"unsupported file type {path.suffix!r} (supported: {allowed})")
    meta: dict[str, Any] = {}
    sidecar = _sidecar(path)
    if sidecar is not None:
        try:
            meta = json.loads(sidecar.read_text(encoding="utf-8-sig"))
        except (OSError, json.JSONDecodeError) as exc:
            raise DocumentError(str(sidecar), f"metadata is not valid JSON: {exc}") from exc
        if not isinstance(meta, dict):
            raise DocumentError(str(sidecar), "metadata must be a JSON object")
    try:
        text = reader.read(path)
    except OSError as exc:
        raise DocumentError(str(path), f"cannot read: {exc}") from exc
    if not text.strip():
        raise DocumentError(str(path), "the document is empty")
    doc_id = str(meta.pop("doc_id", None) or _slug(path.stem))
    title = str(meta.pop("title", None) or _guess_title(text) or path.stem)
    return Document(doc_id=doc_id, title=title, text=text, path=str(path), meta=meta)


def _guess_title(text: str) -> str | None:
    for line in text.splitlines():
        line = line.strip()
        if line:
            return line[:80]
    return None


def iter_corpus(corpus_dir: Path) -> tuple[list[Document], list[DocumentError]]:
    """Every readable document under corpus_dir; unreadable ones are reported, not fatal."""
    docs: list[Document] = []
    errors: list[DocumentError] = []
    if not corpus_dir.is_dir():
        raise DocumentError(str(corpus_dir), "corpus directory does not exist")
    for path in sorted(corpus_dir.rglob("*")):
        if not path.is_file() or path.name.startswith(".") or path.name.endswith(META_SUFFIXES):
            continue
        try:
            docs.append(load_document(path))
        except DocumentError as exc:
            log.warning("skipped %s", exc)
            errors.append(exc)
    seen: set[str] = set()
    for doc in docs:
        if doc.doc_id in seen:
            errors.append(DocumentError(doc.path, f"duplicate doc_id {doc.doc_id!r}"))
        seen.add(doc.doc_id)
    return [d for d in docs if d.path not in {e.path for e in errors}], errors
