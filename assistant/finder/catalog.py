"""The measures of an index, cached beside it: extracted once per set of passages (and vocabulary).

The cache key is a hash of every passage's content hash, the vocabulary file and the extractor
version, so a rebuilt or refreshed index (another document, a changed paragraph) gets new measures
and an unchanged one reuses them. A cache that cannot be written is only a warning: measures are
derived data, re-extracted in a second from the passages Chroma holds.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from importlib.resources import files
from pathlib import Path

from assistant.finder.extract import Measure, extract_measures
from assistant.finder.vocab import Vocabulary
from retrieval.passage import Passage

log = logging.getLogger(__name__)
EXTRACTOR_VERSION = "1"


def catalog_key(passages: list[Passage]) -> str:
    h = hashlib.sha1(EXTRACTOR_VERSION.encode())
    h.update((files("assistant.finder") / "data" / "finder.toml").read_bytes())
    for p in passages:
        h.update(p.id.encode())
        h.update(p.content_hash.encode())
    return h.hexdigest()[:16]


def load_or_extract(passages: list[Passage], vocab: Vocabulary, cache_dir: Path | None) -> list[Measure]:
    if cache_dir is None:
        return extract_measures(passages, vocab)
    path = Path(cache_dir) / f"measures-{catalog_key(passages)}.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return [Measure.from_dict(d) for d in data["measures"]]
    except FileNotFoundError:
        pass
    except (OSError, ValueError, KeyError, TypeError) as exc:
        log.warning("measure cache %s is unreadable (%s); extracting again", path, exc)
    measures = extract_measures(passages, vocab)
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        for old in (*path.parent.glob("measures-*.json"), *path.parent.glob(".measures-*.tmp")):
            old.unlink(missing_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".measures-", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump({"measures": [m.to_dict() for m in measures]}, f, ensure_ascii=False)
        os.replace(tmp, path)
    except OSError as exc:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)  # a full disk must not fill up with half-written caches
        log.warning("could not cache the measures in %s: %s", path.parent, exc)
    return measures
