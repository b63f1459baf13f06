"""Sidecar metadata files: find a document's sidecar, read it (JSON or YAML) and normalise its values.

Sidecars (next to the document; the first form is preferred, one sidecar per document):
    <filename>.meta.json | <filename>.meta.yaml | <filename>.meta.yml      e.g. 办法.docx.meta.yaml
    <stem>.meta.json     | <stem>.meta.yaml     | <stem>.meta.yml          e.g. 办法.meta.json

Fields: doc_id, title, issuer, doc_number (文号), issued, effective, expires (ISO dates YYYY-MM-DD),
region, status (free text: 现行有效 / 已废止 / 已修订 / 失效 …), source_url, and any other scalar key
(e.g. period, doc_type), kept as it is. A key given as null in a sidecar means "none": it is neither
stored nor guessed (what a sidecar does not say is guessed by `retrieval.ingest.header.detect`). `guessed`
is reserved: the loader lists the guessed fields there.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from retrieval.errors import DocumentError

log = logging.getLogger(__name__)

KNOWN_FIELDS = ("doc_id", "title", "issuer", "doc_number", "issued", "effective", "expires", "region", "status",
                "source_url")
DATE_FIELDS = ("issued", "effective", "expires")
SIDECAR_SUFFIXES = (".meta.json", ".meta.yaml", ".meta.yml")
GUESSED_KEY = "guessed"
MAX_DOC_ID_CHARS = 100
DOC_ID_RE = re.compile(r"[\w-][\w.-]*(?:@v\d{1,6})?")  # a file name: letters (any script), digits, _ . -,
# no leading dot; a kept earlier version is `<doc_id>@v<N>` (assistant.library.versions)


def doc_id_problem(value: str) -> str | None:
    """Why `value` cannot be a doc_id (it must be usable as a file name and in a URL path), or None."""
    if len(value) > MAX_DOC_ID_CHARS:
        return f"has {len(value)} characters"
    if not DOC_ID_RE.fullmatch(value):
        return "is not a file name"
    return None


def check_doc_id(value: str, source: str) -> str:
    problem = doc_id_problem(value)
    if problem:
        shown = value if len(value) <= 60 else value[:57] + "..."
        raise DocumentError(f"metadata field 'doc_id' {shown!r} {problem}; allowed: letters, digits, '_', '.' and "
                            f"'-', not starting with '.', at most {MAX_DOC_ID_CHARS} characters", path=source)
    return value


def sidecar_candidates(path: Path) -> list[Path]:
    """The sidecar names that would apply to the document at path, the preferred first."""
    path = Path(path)
    names = [path.name + s for s in SIDECAR_SUFFIXES] + [path.stem + s for s in SIDECAR_SUFFIXES]
    seen: list[Path] = []
    for n in names:
        p = path.with_name(n)
        if p not in seen:
            seen.append(p)
    return seen


def find_sidecar(path: Path) -> Path | None:
    """The document's sidecar, None without one; DocumentError when several would apply."""
    found = [p for p in sidecar_candidates(path) if p.is_file()]
    if len(found) > 1:
        raise DocumentError("several metadata files apply to this document ("
                            + ", ".join(p.name for p in found) + "): keep one", path=str(path))
    return found[0] if found else None


def read_sidecar(sidecar: Path) -> dict[str, Any]:
    """Parse (JSON or YAML by suffix) and normalise a sidecar; DocumentError naming the file otherwise."""
    sidecar = Path(sidecar)
    try:
        raw_text = sidecar.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DocumentError(f"metadata is not UTF-8 text: {exc}", path=str(sidecar)) from exc
    except OSError as exc:
        raise DocumentError(f"cannot read the metadata file: {exc.strerror or exc}", path=str(sidecar)) from exc
    if sidecar.name.lower().endswith(".json"):
        try:
            data = json.loads(raw_text)
        except json.JSONDecodeError as exc:
            raise DocumentError(f"metadata is not valid JSON: {exc}", path=str(sidecar)) from exc
        kind = "a JSON object"
    else:
        import yaml

        try:
            data = yaml.safe_load(raw_text)
        except yaml.YAMLError as exc:
            raise DocumentError(f"metadata is not valid YAML: {exc}", path=str(sidecar)) from exc
        if data is None:
            data = {}
        kind = "a YAML mapping (key: value lines)"
    if not isinstance(data, dict):
        raise DocumentError(f"metadata must be {kind}, not {type(data).__name__}", path=str(sidecar))
    return normalize_meta(data, str(sidecar))


def iso_date(value: Any, field: str, source: str) -> str:
    """A date field as YYYY-MM-DD (a YAML date, or a string in that form); DocumentError otherwise."""
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    text = str(value).strip()
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        try:
            return dt.date.fromisoformat(text).isoformat()
        except ValueError:
            pass
    raise DocumentError(f"metadata field {field!r} has the value {value!r}, which is not a date in the "
                                f"format YYYY-MM-DD (e.g. 2023-05-10)", path=source)


def normalize_meta(data: Mapping[Any, Any], source: str) -> dict[str, Any]:
    """Keys as strings, dates as ISO strings, values scalar (a list of scalars is joined with "、").

    A null value is kept as None (meaning "none: do not guess it"); `guessed` is reserved."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        key = str(key).strip()
        if not key:
            continue
        if key == GUESSED_KEY:
            log.warning("%s: %r is set by the loader; the value in the metadata file is ignored", source, key)
            continue
        if value is None:
            out[key] = None
            continue
        if key in DATE_FIELDS:
            out[key] = iso_date(value, key, source)
            continue
        if isinstance(value, (dt.date, dt.datetime)):
            out[key] = iso_date(value, key, source)
        elif isinstance(value, (list, tuple)):
            if not all(isinstance(v, (str, int, float, bool, dt.date)) for v in value):
                raise DocumentError(f"metadata field {key!r} must be a single value or a list of values", path=source)
            out[key] = "、".join(v.isoformat() if isinstance(v, dt.date) else str(v) for v in value)
        elif isinstance(value, dict):
            raise DocumentError(f"metadata field {key!r} must be a single value, not a mapping", path=source)
        elif isinstance(value, (bool, int, float)):
            out[key] = str(value) if key in KNOWN_FIELDS else value
        else:
            out[key] = str(value).strip()
    for key in ("doc_id", "title"):
        if key in out and out[key] is not None and not str(out[key]).strip():
            raise DocumentError(f"metadata field {key!r} is empty", path=source)
    if out.get("doc_id") is not None:
        check_doc_id(str(out["doc_id"]), source)
    return out
