"""The old feedback file, PA_DATA_DIR/feedback.jsonl: read once, on first start, into the records database
(`assistant.records.feedback.import_legacy`), where feedback is kept now; the file is left as it was.

Older versions appended to it from several processes under an exclusive flock; it is read here under a
shared lock, so a process of an older version still writing never shows half a line.
"""
from __future__ import annotations

import fcntl
import os
from contextlib import contextmanager
from pathlib import Path


def feedback_path(data_dir: Path) -> Path:
    return Path(data_dir) / "feedback.jsonl"


@contextmanager
def locked(path: Path, mode: int, flags: int = os.O_RDONLY):
    """`path` opened with `flags` while holding an flock of `mode` (LOCK_SH to read)."""
    fd = os.open(path, flags, 0o644)
    try:
        fcntl.flock(fd, mode)
        yield fd
    finally:
        os.close(fd)  # releases the lock


def read_feedback(data_dir: Path) -> bytes:
    """The whole feedback file (b"" when there is none), read under a shared lock: whole lines only."""
    path = feedback_path(data_dir)
    if not path.is_file():
        return b""
    with locked(path, fcntl.LOCK_SH) as fd:
        chunks = []
        while chunk := os.read(fd, 1 << 20):
            chunks.append(chunk)
    return b"".join(chunks)
