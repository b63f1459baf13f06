"""User feedback (👍/👎 with an optional comment), appended to PA_DATA_DIR/feedback.jsonl.

Several processes (uvicorn workers sharing PA_DATA_DIR) append to the same file: each line is written
with ONE write() on a file opened with O_APPEND while holding an exclusive flock, so no line is lost,
split or interleaved with another; readers (the export, a backup) take a shared lock and so never see
half a line.
"""
from __future__ import annotations

import fcntl
import json
import os
import threading
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from assistant.errors import FeedbackError

_lock = threading.Lock()
VOTES = ("up", "down")
MAX_ANSWER_CHARS = 20000  # of the answer stored with a vote


def feedback_path(data_dir: Path) -> Path:
    return Path(data_dir) / "feedback.jsonl"


def record_feedback(data_dir: Path, *, question: str, answer: dict[str, Any], vote: str, comment: str = "") -> dict:
    """Append one feedback line (flushed and fsynced) and return it; FeedbackError when it cannot be written."""
    if vote not in VOTES:
        raise FeedbackError(f"vote={vote!r}; allowed: {', '.join(VOTES)}")
    entry = {
        "time": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "question": question,
        "answer": str(answer.get("answer", ""))[:MAX_ANSWER_CHARS],
        "answerable": answer.get("answerable"),
        "mode": answer.get("mode"),
        "citations": [{"n": c.get("n"), "passage_id": c.get("passage_id"), "doc_title": c.get("doc_title"),
                       "section": c.get("section")} for c in answer.get("citations", [])],
        "vote": vote,
        "comment": comment.strip()[:2000],
    }
    path = feedback_path(data_dir)
    data = (json.dumps(entry, ensure_ascii=False) + "\n").encode("utf-8")
    try:
        with _lock, locked(path, fcntl.LOCK_EX, os.O_WRONLY | os.O_APPEND | os.O_CREAT) as fd:
            view = memoryview(data)
            while view:  # one write() for a regular file; a short write is continued, still under the lock
                view = view[os.write(fd, view):]
            os.fsync(fd)
    except OSError as exc:
        raise FeedbackError(f"could not write feedback to {path}: {exc.strerror or exc}") from exc
    return entry


@contextmanager
def locked(path: Path, mode: int, flags: int = os.O_RDONLY):
    """`path` opened with `flags` while holding an flock of `mode` (LOCK_EX to append, LOCK_SH to read)."""
    path.parent.mkdir(parents=True, exist_ok=True)
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
