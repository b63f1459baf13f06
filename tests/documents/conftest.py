"""Shared by the tests of issue 16 (scans, tables, the citation view, versions): what must not change
when a document is refused. The library with the scanned documents (`scan_library`) is defined in
tests/scanfixtures.py and shared through tests/conftest.py (the browser test uses it too)."""
from __future__ import annotations

from pathlib import Path

from scanfixtures import AUTH, TOKEN  # noqa: F401 - imported by the test modules from here


def snapshot(corpus: Path) -> dict[str, bytes]:
    """Every file under corpus/ (hidden ones included) with its bytes."""
    return {str(p.relative_to(corpus)): p.read_bytes() for p in sorted(corpus.rglob("*")) if p.is_file()}


class Unchanged:
    """What must not change when a document is refused: corpus/ byte for byte, the active index."""

    def __init__(self, settings):
        from assistant.library import list_documents
        from retrieval.store import open_store

        self.settings = settings
        self.files = snapshot(settings.corpus_dir)
        self.docs = list_documents(settings)
        self.pointer = open_store(settings.store_config()).pointer()

    def check(self) -> None:
        from assistant.library import list_documents
        from retrieval.store import open_store

        assert snapshot(self.settings.corpus_dir) == self.files
        assert list_documents(self.settings) == self.docs
        assert open_store(self.settings.store_config()).pointer() == self.pointer
