"""Shared by the tests of issue 16 (scans, tables, the citation view, versions).

`scan_library`: ONE private copy of the session's index (tests/conftest.py) to which the invented
documents of tests/scanfixtures.py are added through the real library (`add_documents`): a 2-page scanned
PDF (images only, read by OCR), a PDF with a ruled table over two pages, a workbook with merged cells, a
photo of a notice. Its OCR results are cached in its data dir, so later reads are quick.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
import scanfixtures as sf
from docfixtures import private_index, require_cjk_font

TOKEN = "t0ken-16"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@dataclass
class Library:
    settings: object
    files: dict[str, Path]  # kind -> the source file added
    doc_ids: dict[str, str]  # kind -> its doc_id


@pytest.fixture(scope="session")
def scan_library(built_settings, tmp_path_factory) -> Library:
    require_cjk_font()
    from assistant.library import add_documents

    root = tmp_path_factory.mktemp("issue16")
    src = root / "incoming"
    src.mkdir()
    files = {"scan": sf.make_scanned_policy(src), "table": sf.make_ruled_table_pdf(src),
             "xlsx": sf.make_merged_xlsx(src), "photo": sf.make_photo(src)}
    settings = private_index(built_settings, root / "lib", admin_token=TOKEN)
    result = add_documents(settings, list(files.values()))
    by_file = {d.file: d.doc_id for d in result.documents}
    return Library(settings, files, {kind: by_file[path.name] for kind, path in files.items()})


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
