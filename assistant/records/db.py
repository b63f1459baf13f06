"""The database: engine and sessions from a small config object; Alembic migrations run on first use.

SQLite (the default, a file in PA_DATA_DIR) is opened in WAL mode with a busy timeout so several worker
processes on one machine can write; PostgreSQL (`postgresql+psycopg://user:pw@host/db`) serves several
workers and replicas. Migrations are shipped in this package (`migrations/`) and applied by whichever
process opens the database first; others wait for it (a PostgreSQL advisory lock / SQLite's write lock).
"""
from __future__ import annotations

import logging
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from assistant.errors import ConfigError, RecordsUnavailable

log = logging.getLogger(__name__)
MIGRATIONS = Path(__file__).with_name("migrations")
SCHEMES = ("sqlite", "postgresql")
CONNECT_TIMEOUT = 5  # s: a database that does not answer by then is reported as down (requests go on)
MIGRATE_LOCK = 72_023_001  # the PostgreSQL advisory lock held while migrating
_alembic = threading.Lock()  # alembic's `context` is one module-global proxy: one migration per process at a time


@dataclass(frozen=True)
class DatabaseConfig:
    url: str
    pool_size: int = 5

    @classmethod
    def of(cls, url: str | None, data_dir: Path) -> "DatabaseConfig":
        """`url`, or SQLite in `data_dir` (records.sqlite3) when it is unset or empty."""
        if not url:
            return cls(f"sqlite:///{Path(data_dir).resolve() / 'records.sqlite3'}")
        try:
            backend = make_url(url).get_backend_name()
        except ArgumentError as exc:
            raise ConfigError(f"PA_DATABASE_URL={redact(url)!r} is not a database URL; allowed: "
                              "sqlite:///PATH or postgresql+psycopg://USER:PASSWORD@HOST:PORT/DB") from exc
        if backend not in SCHEMES:
            raise ConfigError(f"PA_DATABASE_URL uses {backend!r}; allowed: {', '.join(SCHEMES)}")
        return cls(url)

    @property
    def label(self) -> str:
        """The URL without its password, for messages and logs."""
        return redact(self.url)

    @property
    def is_sqlite(self) -> bool:
        return self.url.startswith("sqlite")


def redact(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unreadable URL>"


class Database:
    """One engine per process. `session()` migrates on first use and raises RecordsUnavailable (naming
    the database, never its password) when it cannot be reached."""

    def __init__(self, config: DatabaseConfig):
        self.config = config
        self.engine = _engine(config)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._migrated = False
        self._lock = threading.Lock()

    def migrate(self) -> None:
        """Bring the schema to the newest migration (once per process; a failure is retried next time)."""
        if self._migrated:
            return
        with self._lock:
            if self._migrated:
                return
            try:
                upgrade(self.engine)
            except SQLAlchemyError as exc:
                raise RecordsUnavailable(f"the database {self.config.label} cannot be migrated: "
                                         f"{_reason(exc)}") from exc
            self._migrated = True

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session in one transaction: committed when the block ends, rolled back when it raises."""
        self.migrate()
        try:
            with self._sessions.begin() as s:
                yield s
        except SQLAlchemyError as exc:
            raise RecordsUnavailable(f"the database {self.config.label} failed: {_reason(exc)}") from exc

    def dispose(self) -> None:
        self.engine.dispose()


def _reason(exc: SQLAlchemyError) -> str:
    orig = getattr(exc, "orig", None)
    return " ".join(f"{type(orig or exc).__name__}: {orig or exc}".split())[:300]


def _engine(config: DatabaseConfig) -> Engine:
    if config.is_sqlite:
        path = make_url(config.url).database
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(config.url, connect_args={"timeout": 30, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _pragmas(conn, _record):  # WAL: readers never block the writer; foreign keys on
            cur = conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        @event.listens_for(engine, "begin")
        def _begin(conn):  # take the write lock at the start: no deadlock between two upgrading readers
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        # pysqlite's own transaction handling off, so BEGIN IMMEDIATE above is the transaction
        @event.listens_for(engine, "connect", insert=True)
        def _autocommit(conn, _record):
            conn.isolation_level = None

        return engine
    return create_engine(config.url, pool_pre_ping=True, pool_size=config.pool_size, max_overflow=10,
                         connect_args={"connect_timeout": CONNECT_TIMEOUT})


def upgrade(engine: Engine) -> None:
    """Alembic `upgrade head` with this package's migrations, one process at a time."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with _alembic, engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": MIGRATE_LOCK})
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
