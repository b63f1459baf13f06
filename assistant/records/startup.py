"""On start: migrate the records database and import the old feedback.jsonl once. A database that is down
is logged, not fatal: questions are answered all the same, and the next use tries again."""
from __future__ import annotations

import logging
import threading
from pathlib import Path

from assistant.errors import RecordsUnavailable
from assistant.records.db import Database
from assistant.records.feedback import import_legacy

log = logging.getLogger(__name__)


def prepare(db: Database, data_dir: Path) -> bool:
    """Migrate and import; False (logged) when the database cannot be reached."""
    try:
        db.migrate()
        import_legacy(db, data_dir)
        return True
    except RecordsUnavailable as exc:
        log.error("the records database is not available (questions are still answered): %s", exc)
        return False


def prepare_in_background(db: Database, data_dir: Path) -> threading.Thread:
    thread = threading.Thread(target=prepare, args=(db, data_dir), name="pa-records-prepare", daemon=True)
    thread.start()
    return thread
