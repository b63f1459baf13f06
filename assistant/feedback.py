"""User feedback (👍/👎 with an optional comment), appended to PA_DATA_DIR/feedback.jsonl."""
from __future__ import annotations

import json
import os
import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from assistant.errors import FeedbackError

_lock = threading.Lock()
VOTES = ("up", "down")


def feedback_path(data_dir: Path) -> Path:
    return Path(data_dir) / "feedback.jsonl"


def record_feedback(data_dir: Path, *, question: str, answer: dict[str, Any], vote: str, comment: str = "") -> dict:
    """Append one feedback line (flushed and fsynced) and return it; FeedbackError when it cannot be written."""
    if vote not in VOTES:
        raise FeedbackError(f"vote={vote!r}; allowed: {', '.join(VOTES)}")
    entry = {
        "time": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "question": question,
        "answer": answer.get("answer", ""),
        "answerable": answer.get("answerable"),
        "mode": answer.get("mode"),
        "citations": [{"n": c.get("n"), "passage_id": c.get("passage_id"), "doc_title": c.get("doc_title"),
                       "section": c.get("section")} for c in answer.get("citations", [])],
        "vote": vote,
        "comment": comment.strip()[:2000],
    }
    path = feedback_path(data_dir)
    line = json.dumps(entry, ensure_ascii=False) + "\n"
    try:
        with _lock:
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path, "a", encoding="utf-8") as fh:
                fh.write(line)
                fh.flush()
                os.fsync(fh.fileno())
    except OSError as exc:
        raise FeedbackError(f"could not write feedback to {path}: {exc.strerror or exc}") from exc
    return entry
