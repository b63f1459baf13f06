"""The question log: every question asked through any channel (time, channel, question, standalone question,
refused or answered, cited passage ids, evidence score, latency, the vote it got). No client address or
identity is stored. Rows older than `days` are purged.

Logging never fails a request: a database that does not answer costs the row (counted: `lost`, shown in
/metrics as pa_question_log_lost_total), not the answer; after a failure the database is left alone for
RETRY_SECONDS, so a database that is down does not slow every question down.
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

from sqlalchemy import delete, select

from assistant.answer import Answer
from assistant.errors import RecordsUnavailable
from assistant.records.db import Database
from assistant.records.models import Question

log = logging.getLogger(__name__)
CHANNELS = ("api", "stream", "openai", "mcp", "ui")
RETRY_SECONDS = 5.0
PURGE_EVERY = 3600.0  # s between purges of old rows, per process


@dataclass(frozen=True)
class QuestionLogConfig:
    enabled: bool = True
    days: int = 90


class QuestionLog:
    def __init__(self, db: Database, config: QuestionLogConfig, on_lost: Callable[[int], None] | None = None):
        self.db = db
        self.config = config
        self.on_lost = on_lost  # e.g. a metrics counter
        self.lost = 0
        self._down_until = 0.0
        self._purged = -PURGE_EVERY  # the first row written purges
        self._lock = threading.Lock()

    def record(self, channel: str, question: str, answer: Answer, latency_s: float) -> int | None:
        """Store one question; its id, or None (logging off, or the row lost: counted, never raised)."""
        if not self.config.enabled:
            return None
        if time.monotonic() < self._down_until:
            self._lose("the database failed less than %.0f s ago" % RETRY_SECONDS)
            return None
        row = Question(time=datetime.now(timezone.utc), channel=channel, question=question[:2000],
                       standalone=(answer.standalone_question or "")[:2000], refused=not answer.answerable,
                       source=answer.source, curated_id=answer.curated_id,
                       passage_ids=[c.passage_id for c in answer.citations], evidence=answer.evidence,
                       latency_ms=round(latency_s * 1000, 1))
        try:
            with self.db.session() as s:
                s.add(row)
                s.flush()
                qid = row.id
            self._purge_now_and_then()
            return qid
        except RecordsUnavailable as exc:
            self._down_until = time.monotonic() + RETRY_SECONDS
            self._lose(str(exc))
            return None
        except Exception as exc:  # noqa: BLE001 - logging never fails a request
            self._lose(f"{type(exc).__name__}: {exc}")
            return None

    def _lose(self, why: str) -> None:
        with self._lock:
            self.lost += 1
        if self.on_lost is not None:
            self.on_lost(1)
        log.warning("a question log row was lost: %s", why)

    def _purge_now_and_then(self) -> None:
        if time.monotonic() - self._purged < PURGE_EVERY:
            return
        self._purged = time.monotonic()
        try:
            purge(self.db, self.config.days)
        except RecordsUnavailable as exc:
            log.warning("purging old questions failed: %s", exc)


def purge(db: Database, days: int) -> int:
    """Delete the questions older than `days` days; how many."""
    cutoff = datetime.now(timezone.utc) - timedelta(days=days)
    with db.session() as s:
        return s.execute(delete(Question).where(Question.time < cutoff)).rowcount or 0


def questions(db: Database, status: str = "all", since: datetime | None = None, limit: int = 5000) -> list[dict[str, Any]]:
    """The logged questions, newest first: all, refused, downvoted."""
    stmt = select(Question).order_by(Question.time.desc(), Question.id.desc()).limit(limit)
    if status == "refused":
        stmt = stmt.where(Question.refused.is_(True))
    elif status == "downvoted":
        stmt = stmt.where(Question.vote == "down")
    if since is not None:
        stmt = stmt.where(Question.time >= since)
    with db.session() as s:
        return [as_dict(r) for r in s.scalars(stmt)]


def as_dict(r: Question) -> dict[str, Any]:
    t = r.time if r.time.tzinfo else r.time.replace(tzinfo=timezone.utc)
    return {"id": r.id, "time": t.astimezone(timezone.utc).isoformat(timespec="seconds"), "channel": r.channel,
            "question": r.question, "standalone": r.standalone, "refused": r.refused, "source": r.source,
            "curated_id": r.curated_id, "passage_ids": list(r.passage_ids or []), "evidence": r.evidence,
            "latency_ms": r.latency_ms, "vote": r.vote}
