"""Documents in corpus/: their text (retrieval.readers) and metadata (retrieval.ingest.sidecar, retrieval.ingest.header).

Formats: .txt, .md, .html/.htm, .docx, .pdf (scanned pages by OCR), .xlsx, .png/.jpg. The content must match the name (a PDF saved as `.docx`
is reported, not guessed at). Metadata comes from a sidecar (`<name>.meta.json` / `.meta.yaml` /
`.meta.yml`, or `<stem>.meta.*`); what it lacks is guessed from the text and listed in
`meta["guessed"]`. `iter_corpus` never raises for a bad file: each one becomes a DocumentError in the
returned list, with its reason.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from retrieval.errors import DocumentError
from retrieval.ingest.header import detect
from retrieval.readers import (  # READERS, TextReader, Extracted, Reader, sniff: re-exported for callers
    KIND_NAMES, READERS, Extracted, Reader, ReadLimits, Span, TextReader, is_legacy_office, reader_for, sniff,
    supported_suffixes,
)
from retrieval.ingest.sidecar import GUESSED_KEY, MAX_DOC_ID_CHARS, SIDECAR_SUFFIXES, find_sidecar, read_sidecar

log = logging.getLogger(__name__)

META_SUFFIXES = SIDECAR_SUFFIXES  # (".meta.json", ".meta.yaml", ".meta.yml")
MAX_META_FIELDS = 50  # metadata fields of one document (sidecar and guessed together)
MAX_META_KEY_CHARS = 64
SKIP_PREFIXES = (".", "~$")  # hidden files, Word's lock files
OOXML = {"docx", "xlsx"}

__all__ = ["META_SUFFIXES", "READERS", "Document", "Extracted", "Reader", "TextReader", "iter_corpus",
           "load_document", "sniff"]


@dataclass
class Document:
    """A document read from corpus/: its text (the readers' contract), metadata and, for scans and PDF
    tables, the boxes of its lines on the pages (`layout`), the pages read by OCR and what went wrong on
    some pages (`warnings`)."""

    doc_id: str
    title: str
    text: str
    path: str
    meta: dict[str, Any] = field(default_factory=dict)
    layout: dict[int, list[Span]] | None = None
    ocr_pages: tuple[int, ...] = ()
    warnings: list[str] = field(default_factory=list)


def _limits(limits: ReadLimits | None) -> ReadLimits:
    """limits, or the built-in ReadLimits() for None (TypeError for anything else)."""
    if limits is None:
        return ReadLimits()
    if not isinstance(limits, ReadLimits):
        raise TypeError(f"limits must be a ReadLimits, not {type(limits).__name__}")
    return limits


def _slug(stem: str) -> str:
    slug = re.sub(r"[^\w.-]+", "-", stem).strip("-._")  # letters of any script: 创新券管理办法 stays
    return slug[:MAX_DOC_ID_CHARS].rstrip("-.") or "doc"


def _check_content(path: Path, reader: Reader) -> None:
    """DocumentError when the bytes are not what the name says (a PDF named .docx…)."""
    kinds = reader.kinds
    if not kinds:
        return  # a reader that accepts any content (it checks the bytes itself)
    try:
        kind = sniff(path)
    except OSError as exc:
        raise DocumentError(f"cannot read: {exc.strerror or exc}", path=str(path)) from exc
    if kind in kinds or (kind in OOXML and set(kinds) & OOXML):
        return  # a workbook named .docx (or the other way): the package check says what it is instead
    suffix = path.suffix.lower()
    if kind == "unknown" and is_legacy_office(path):
        raise DocumentError(f"the content is an old binary Office file (.doc/.xls, OLE2) but the name ends "
                                       f"in {suffix}: save it as .docx (or PDF) first", path=str(path))
    if kind == "unknown":
        if "text" in kinds or "html" in kinds:
            raise DocumentError(f"the content is not text (binary data) but the name ends in {suffix}", path=str(path))
        return  # a damaged PDF/.docx: the reader says what is wrong with it
    raise DocumentError(f"the content is {KIND_NAMES[kind]} but the name ends in {suffix}", path=str(path))


def load_document(path: Path, limits: ReadLimits | None = None) -> Document:
    """Read one document (text and metadata) within `limits` (default: the built-in ReadLimits())."""
    limits = _limits(limits)
    path = Path(path)
    reader = reader_for(path)
    if reader is None:
        allowed = ", ".join(supported_suffixes())
        hint = {".doc": "; save it as .docx first", ".wps": "; save it as .docx first",
                ".xls": "; save it as .xlsx first", ".tif": "; save it as .png or PDF first",
                ".tiff": "; save it as .png or PDF first",
                ".ofd": "; export it as PDF first"}.get(path.suffix.lower(), "")
        raise DocumentError(f"unsupported file type {path.suffix or '(no extension)'!r} "
                                       f"(supported: {allowed}){hint}", path=str(path))
    sidecar = find_sidecar(path)
    known = read_sidecar(sidecar) if sidecar is not None else {}
    _check_content(path, reader)
    try:
        got: Extracted = reader.extract(path, limits)
    except DocumentError:
        raise
    except OSError as exc:
        raise DocumentError(f"cannot read: {exc.strerror or exc}", path=str(path)) from exc
    except Exception as exc:  # a reader's library failed in a way it did not foresee
        log.debug("reader %r failed on %s", reader, path, exc_info=True)
        raise DocumentError(f"could not be read ({type(exc).__name__}: {exc})", path=str(path)) from exc
    text = got.text
    if not text.strip():
        raise DocumentError("the document is empty", path=str(path))
    if len(text) > limits.max_document_chars:
        raise DocumentError(f"the text has {len(text):,} characters; at most {limits.max_document_chars:,} are "
                            "allowed per document (PA_MAX_DOCUMENT_CHARS): split it", path=str(path))
    meta, guessed = detect(text, known, title_hint=got.title, hints=got.hints)
    if not meta.get("title"):
        meta["title"] = path.stem
        guessed.append("title")
    bound_meta(meta, guessed, limits.max_meta_chars, str(path))
    if guessed:
        meta[GUESSED_KEY] = ",".join(guessed)
    doc_id = str(meta.pop("doc_id", None) or _slug(path.stem))
    title = str(meta.pop("title"))
    return Document(doc_id=doc_id, title=title, text=text, path=str(path), meta=meta, layout=got.layout,
                    ocr_pages=tuple(got.ocr_pages), warnings=list(got.warnings))


def bound_meta(meta: dict[str, Any], guessed: list[str], max_chars: int, source: str) -> None:
    """Every metadata value is stored on every passage of the document: at most `max_chars` characters
    each, and at most MAX_META_FIELDS fields. A value given in the metadata over the limit is refused
    (DocumentError naming the field); a guessed one is shortened."""
    if len(meta) > MAX_META_FIELDS:
        raise DocumentError(f"the metadata has {len(meta)} fields; at most {MAX_META_FIELDS} are allowed", path=source)
    for key, value in meta.items():
        if len(key) > MAX_META_KEY_CHARS:
            raise DocumentError(f"a metadata field name has {len(key)} characters; at most {MAX_META_KEY_CHARS} "
                                "are allowed", path=source)
        if isinstance(value, str) and len(value) > max_chars:
            if key not in guessed:
                raise DocumentError(f"metadata field {key!r} has {len(value):,} characters; at most {max_chars} are "
                                    "allowed (PA_MAX_META_CHARS)", path=source)
            meta[key] = value[:max_chars].rstrip()


def _skipped(path: Path) -> bool:
    name = path.name
    return name.startswith(SKIP_PREFIXES) or name.lower().endswith(META_SUFFIXES)


def iter_corpus(corpus_dir: Path, limits: ReadLimits | None = None) -> tuple[list[Document], list[DocumentError]]:
    """Every readable document under corpus_dir (each read within `limits`, default: the built-in
    ReadLimits()); unreadable ones are reported, not fatal."""
    limits = _limits(limits)
    corpus_dir = Path(corpus_dir)
    docs: list[Document] = []
    errors: list[DocumentError] = []
    if not corpus_dir.is_dir():
        raise DocumentError("corpus directory does not exist", path=str(corpus_dir))
    for path in sorted(corpus_dir.rglob("*")):
        if any(part.startswith(".") for part in path.relative_to(corpus_dir).parts[:-1]):
            continue  # inside a hidden directory (.git, .cache…)
        if not path.is_file() or _skipped(path):
            continue
        try:
            docs.append(load_document(path, limits))
        except DocumentError as exc:
            log.warning("skipped %s", exc)
            errors.append(exc)
        except Exception as exc:  # never let one file stop the corpus
            log.warning("skipped %s: unexpected %s", path, type(exc).__name__, exc_info=True)
            errors.append(DocumentError(f"could not be read ({type(exc).__name__}: {exc})", path=str(path)))
    seen: set[str] = set()
    for doc in docs:
        if doc.doc_id in seen:
            errors.append(DocumentError(f"duplicate doc_id {doc.doc_id!r}", path=doc.path))
        seen.add(doc.doc_id)
    bad = {e.path for e in errors}
    return [d for d in docs if d.path not in bad], errors
