"""The service's own records in a real database (SQLAlchemy 2.x, Alembic migrations): feedback first;
the question log, curated answers and other per-feature tables each add a model and one migration.

    config = DatabaseConfig.of(url, data_dir)    # PA_DATABASE_URL; default: SQLite in PA_DATA_DIR
    db = Database(config)                        # the engine; migrated to the newest schema on first use
    with db.session() as s: ...                  # one transaction, committed on leaving the block

Nothing here reads the environment: the edges build the `DatabaseConfig` (`Settings.database_config()`).
To add a table: a model in `models.py` and a migration in `migrations/versions/` (`NNNN_<feature>.py`,
`down_revision` = the previous newest), nothing else.
"""
from __future__ import annotations

from assistant.records.db import Database, DatabaseConfig, RecordsUnavailable

__all__ = ["Database", "DatabaseConfig", "RecordsUnavailable"]
