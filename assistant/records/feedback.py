"""Feedback (👍/👎 with an optional comment) in the records database; the old PA_DATA_DIR/feedback.jsonl is
imported once, on first start, by whichever process gets there first (a `record_imports` row in the same
transaction as the rows: a second process's import rolls back). The file is left where it was."""
from __future__ import annotations

import json
import logging
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from assistant.errors import FeedbackError, RecordsUnavailable
from assistant.records.db import Database
from assistant.records.models import Feedback, Question, RecordImport

log = logging.getLogger(__name__)
VOTES = ("up", "down")
MAX_ANSWER_CHARS = 20000  # of the answer stored with a vote
MAX_COMMENT_CHARS = 2000
LEGACY_FILE = "feedback.jsonl"


def entry(question: str, answer: dict[str, Any], vote: str, comment: str = "") -> dict[str, Any]:
    """The stored fields of one vote on `answer` (an `Answer.to_dict()`); FeedbackError for a bad vote."""
    if vote not in VOTES:
        raise FeedbackError(f"vote={vote!r}; allowed: {', '.join(VOTES)}")
    return {
        "question": question,
        "answer": str(answer.get("answer", ""))[:MAX_ANSWER_CHARS],
        "answerable": answer.get("answerable"),
        "mode": answer.get("mode"),
        "citations": [{"n": c.get("n"), "passage_id": c.get("passage_id"), "doc_title": c.get("doc_title"),
                       "section": c.get("section")} for c in answer.get("citations", [])],
        "vote": vote,
        "comment": (comment or "").strip()[:MAX_COMMENT_CHARS],
    }


def record_feedback(db: Database, *, question: str, answer: dict[str, Any], vote: str, comment: str = "",
                    question_id: int | None = None) -> dict[str, Any]:
    """Store one vote and return it as exported; FeedbackError when it cannot be stored. `question_id`: the
    question log's row of the question, which keeps the (last) vote too."""
    fields = entry(question, answer, vote, comment)
    row = Feedback(time=datetime.now(timezone.utc), question_id=question_id, **fields)
    try:
        with db.session() as s:
            s.add(row)
            if question_id is not None:
                s.execute(update(Question).where(Question.id == question_id).values(vote=vote))
    except RecordsUnavailable as exc:
        raise FeedbackError(f"could not store the feedback: {exc}") from exc
    return as_dict(row)


def as_dict(row: Feedback) -> dict[str, Any]:
    return {"time": _iso(row.time), "question": row.question, "answer": row.answer, "answerable": row.answerable,
            "mode": row.mode, "citations": list(row.citations or []), "vote": row.vote, "comment": row.comment}


def _iso(t: datetime) -> str:
    if t.tzinfo is None:  # SQLite gives naive datetimes back; they were stored in UTC
        t = t.replace(tzinfo=timezone.utc)
    return t.astimezone(timezone.utc).isoformat(timespec="seconds")


def list_feedback(db: Database, since: datetime | None = None) -> list[dict[str, Any]]:
    """Every vote, oldest first (from `since` on, when given)."""
    stmt = select(Feedback).order_by(Feedback.time, Feedback.id)
    if since is not None:
        stmt = stmt.where(Feedback.time >= since)
    with db.session() as s:
        return [as_dict(r) for r in s.scalars(stmt)]


def import_legacy(db: Database, data_dir: Path) -> int:
    """Import PA_DATA_DIR/feedback.jsonl once (every readable line; unreadable ones are logged and the file
    is kept as it was); the number of rows imported by this call (0: nothing to do, or done before)."""
    from assistant.library.feedback import read_feedback  # the file's own reader (a shared lock: whole lines only)

    path = Path(data_dir) / LEGACY_FILE
    if not path.is_file():
        return 0
    with db.session() as s:
        if s.get(RecordImport, LEGACY_FILE) is not None:
            return 0
    rows, skipped = parse_lines(read_feedback(data_dir).decode("utf-8", errors="replace"))
    try:
        with db.session() as s:
            s.add(RecordImport(name=LEGACY_FILE, time=datetime.now(timezone.utc), rows=len(rows)))
            s.flush()  # a second process importing at the same time fails here and rolls back
            s.add_all(rows)
    except RecordsUnavailable as exc:
        if isinstance(exc.__cause__, IntegrityError):
            return 0
        raise
    if skipped:
        log.warning("%s: %d unreadable line(s) not imported (the file is kept)", path, skipped)
    log.info("imported %d feedback entries from %s into the records database", len(rows), path)
    return len(rows)


def parse_lines(text: str) -> tuple[list[Feedback], int]:
    """The rows of a feedback.jsonl text, and how many lines could not be read."""
    rows, skipped = [], 0
    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            e = json.loads(line)
            time = datetime.fromisoformat(e["time"]) if e.get("time") else datetime.now(timezone.utc)
            if time.tzinfo is None:
                time = time.replace(tzinfo=timezone.utc)
            rows.append(Feedback(time=time, question=str(e.get("question", "")),
                                 answer=str(e.get("answer", ""))[:MAX_ANSWER_CHARS], answerable=e.get("answerable"),
                                 mode=e.get("mode"), citations=list(e.get("citations") or []),
                                 vote=str(e.get("vote", "")), comment=str(e.get("comment", ""))[:MAX_COMMENT_CHARS]))
        except (ValueError, TypeError, KeyError, AttributeError):
            skipped += 1
    return rows, skipped


def export_jsonl(db: Database) -> bytes:
    """Every vote as JSON lines, oldest first (a backup's feedback.jsonl, the export's `format=jsonl`)."""
    return "".join(json.dumps(e, ensure_ascii=False) + "\n" for e in list_feedback(db)).encode("utf-8")


def replace_all(db: Database, text: str) -> int:
    """Replace every vote with the lines of `text` (a backup's feedback.jsonl), in one transaction; the
    number of rows. The old file, if any, counts as imported (it must not come back on the next start)."""
    rows, _ = parse_lines(text)
    with db.session() as s:
        s.query(Feedback).delete()
        if s.get(RecordImport, LEGACY_FILE) is None:
            s.add(RecordImport(name=LEGACY_FILE, time=datetime.now(timezone.utc), rows=0))
        s.add_all(rows)
    return len(rows)
