"""Versions of a document: adding a document whose doc_id is in the library keeps the previous version.

    archive_previous(corpus, doc_id, files, new_file, retire)   # in `add_documents`, under the library lock
    versions(passages, doc_id)                                   # [Version], oldest first
    diff(passages, doc_id, from_version, to_version)             # what changed, clause by clause

The current version keeps its doc_id and its place in corpus/; a previous one is moved to
`corpus/versions/<doc_id>/v<N>-<file>` with a sidecar that makes it a document of its own: doc_id
`<doc_id>@v<N>`, `version: N`, `version_of`, `status: 已修订`, `superseded: true`, `superseded_on` (its
other dates kept). Superseded versions are indexed like any document but left out of search and answers
unless `include_inactive` (`retrieval.validity`). The new version's sidecar gets `version: N+1`,
`previous_version` and `revised` (the date it was added), which the answer's notices mention for a year.
Re-adding the same bytes is not a new version.
"""
from __future__ import annotations

import datetime as dt
import filecmp
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from assistant.errors import DocumentError, InvalidQuery
from retrieval.ingest.diff import diff_clauses
from retrieval.passage import Passage
from retrieval.ingest.sidecar import SIDECAR_SUFFIXES, find_sidecar, read_sidecar
from retrieval.validity import is_superseded

VERSIONS_DIR = "versions"
VERSION_SEP = "@v"
SKIPPED_KINDS = ("heading",)  # a heading alone is not a clause


def version_id(doc_id: str, number: int) -> str:
    return f"{doc_id}{VERSION_SEP}{number}"


def base_id(doc_id: str) -> str:
    """`gaoqi@v1` -> `gaoqi`; a current doc_id stays as it is."""
    head, sep, tail = doc_id.rpartition(VERSION_SEP)
    return head if sep and tail.isdigit() else doc_id


def _number(value: Any, default: int = 1) -> int:
    try:
        return max(1, int(value))
    except (TypeError, ValueError):
        return default


def _dir_name(doc_id: str) -> str:
    return re.sub(r"[^\w.-]+", "_", doc_id).strip("._") or "doc"


def archive_previous(corpus: Path, doc_id: str, files: list[Path], new_file: Path,
                     retire: Callable[[Path], None], today: dt.date | None = None) -> dict[str, Any] | None:
    """Move the current version of doc_id (its document file and sidecars, `files`) to corpus/versions/ as
    a superseded version; the metadata the new version's sidecar gets (None when `new_file` has the same
    bytes: not a new version, nothing moved)."""
    today = today or dt.date.today()
    document = next((f for f in files if not f.name.lower().endswith(SIDECAR_SUFFIXES)), None)
    if document is None or not document.is_file():
        return None
    if filecmp.cmp(document, new_file, shallow=False):
        return None
    sidecar = find_sidecar(document)
    meta = read_sidecar(sidecar) if sidecar is not None else {}
    number = _number(meta.get("version"))
    target_dir = corpus / VERSIONS_DIR / _dir_name(doc_id)
    target = target_dir / f"v{number}-{document.name}"
    old_meta = {**{k: v for k, v in meta.items() if v is not None}, "doc_id": version_id(doc_id, number),
                "version": number, "version_of": doc_id, "status": "已修订", "superseded": True,
                "superseded_on": today.isoformat()}
    try:
        target_dir.mkdir(parents=True, exist_ok=True)
        tmp = target_dir / f".{target.name}.meta.json.{os.getpid()}.tmp"
        tmp.write_text(json.dumps(old_meta, ensure_ascii=False, indent=2), encoding="utf-8")
        os.replace(tmp, target_dir / f"{target.name}.meta.json")  # the sidecar first: the file is never unlabelled
        os.replace(document, target)
    except OSError as exc:
        raise DocumentError(f"cannot keep the previous version in {target_dir} ({exc.strerror or exc}); "
                            "the index is unchanged", path=document.name) from exc
    for other in files:
        if other != document and other.exists():
            retire(other)  # its content went into the version's sidecar
    return {"version": number + 1, "previous_version": version_id(doc_id, number), "revised": today.isoformat()}


def prune_empty(corpus: Path) -> None:
    """Drop the folders of corpus/versions/ that a removal left empty."""
    root = corpus / VERSIONS_DIR
    if not root.is_dir():
        return
    for folder in sorted((p for p in root.iterdir() if p.is_dir()), reverse=True):
        if not any(folder.iterdir()):
            folder.rmdir()
    if not any(root.iterdir()):
        root.rmdir()


# ---------------------------------------------------------------- reading versions from the index


@dataclass
class Version:
    number: int
    doc_id: str
    title: str
    current: bool
    meta: dict[str, Any] = field(default_factory=dict)
    passages: list[Passage] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        keep = ("issued", "effective", "expires", "status", "revised", "superseded_on", "doc_number")
        return {"version": self.number, "doc_id": self.doc_id, "title": self.title, "current": self.current,
                **{k: self.meta[k] for k in keep if self.meta.get(k)}}


def versions(passages: list[Passage], doc_id: str) -> list[Version]:
    """The versions of doc_id (given as the current id or a version's id) in the index, oldest first."""
    base = base_id(doc_id)
    found: dict[str, Version] = {}
    for p in passages:
        if base_id(p.doc_id) != base:
            continue
        v = found.get(p.doc_id)
        if v is None:
            meta = {k: val for k, val in p.meta.items() if k not in ("page", "ocr", "bbox")}
            current = p.doc_id == base and not is_superseded(meta)
            number = _number(meta.get("version"), 0)
            v = found[p.doc_id] = Version(number, p.doc_id, p.doc_title, current, meta)
        v.passages.append(p)
    out = sorted(found.values(), key=lambda v: (not v.current, v.number))
    archived = [v for v in out if not v.current]
    for v in out:
        if v.current and v.number == 0:  # a document that was never revised has no version field
            v.number = max((a.number for a in archived), default=0) + 1
    return sorted(out, key=lambda v: v.number)


def diff(passages: list[Passage], doc_id: str, from_version: int | None = None,
         to_version: int | None = None) -> dict[str, Any]:
    """What changed from one version of doc_id to another (default: the one before the latest -> the
    latest), clause by clause; InvalidQuery naming the versions there are."""
    found = versions(passages, doc_id)
    if not found:
        raise InvalidQuery(f"no document with doc_id {doc_id!r}; see `docs list` or GET /v1/documents", field="doc_id")
    numbers = [v.number for v in found]
    if len(found) < 2 and from_version is None:
        raise InvalidQuery(f"{base_id(doc_id)!r} has one version only ({numbers[0]}): nothing to compare", field="doc_id")
    to_v = numbers[-1] if to_version is None else to_version
    from_v = (max((n for n in numbers if n < to_v), default=numbers[0]) if from_version is None else from_version)
    by_number = {v.number: v for v in found}
    for name, n in (("from", from_v), ("to", to_v)):
        if n not in by_number:
            raise InvalidQuery(f"{base_id(doc_id)!r} has no version {n}; versions: "
                               f"{', '.join(map(str, numbers))}", field=name)
    old, new = by_number[from_v], by_number[to_v]
    changes = diff_clauses(_clauses(old), _clauses(new))
    counts = {kind: sum(1 for c in changes if c.kind == kind) for kind in ("added", "removed", "changed")}
    return {"doc_id": base_id(doc_id), "title": new.title, "from": old.summary(), "to": new.summary(),
            "versions": [v.summary() for v in found], "counts": counts, "changes": [c.to_dict() for c in changes]}


def _clauses(version: Version) -> list[tuple[str, str]]:
    ordered = sorted(version.passages, key=lambda p: p.order)
    return [(p.section_path, p.text) for p in ordered if p.kind not in SKIPPED_KINDS]
