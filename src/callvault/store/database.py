"""Connecting to the vault's database and migrating it (Alembic, the same scripts on both engines)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError

from callvault.errors import Busy, ConfigError

MIGRATIONS = Path(__file__).with_name("migrations")


def sqlalchemy_url(url: str) -> str:
    """Accept plain ``postgresql://`` URLs and use psycopg 3 for them."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # pysqlite would BEGIN only before the first write, leaving the reads before it (a gate's
    # context, the audit head) outside the writing transaction; SQLAlchemy's "begin" event below
    # starts every transaction itself instead (the documented pysqlite recipe).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    # An erased row is overwritten on disk, not left in a free page of the file (Art. 17).
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.execute("PRAGMA journal_mode=WAL")  # readers do not block the writer
    cursor.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL is durable at each checkpoint
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _sqlite_begin(conn: Any) -> None:
    """A write transaction (execution option ``write=True``, as :func:`writing` and
    ``Vault.transaction`` set) begins IMMEDIATE: it holds the write lock from its first read, so
    what a gate reads and the audit head it extends belong to the transaction that writes (DESIGN,
    "Storage"). Reads begin DEFERRED and never block a writer; AUTOCOMMIT begins nothing."""
    options = conn.get_execution_options()
    if options.get("isolation_level") == "AUTOCOMMIT":
        return
    conn.exec_driver_sql("BEGIN IMMEDIATE" if options.get("write") else "BEGIN DEFERRED")


@contextmanager
def writing(engine: Engine) -> Iterator[Connection]:
    """A write transaction (BEGIN IMMEDIATE on SQLite), committed at the end of the block."""
    with engine.connect().execution_options(write=True) as conn, conn.begin():
        yield conn


_BUSY_SQLITE = ("database is locked", "database table is locked", "database is busy")
_BUSY_PG = {"40001", "40P01", "55P03"}  # serialization failure, deadlock, lock not available


def busy_error(original: BaseException) -> Busy | None:
    """The Busy error for a driver error that is a lock held past the busy timeout, else None."""
    text = str(original).lower()
    state = getattr(original, "sqlstate", None)
    if any(marker in text for marker in _BUSY_SQLITE) or state in _BUSY_PG:
        return Busy("the database is busy with another writer; nothing was changed, try again")
    return None


def _busy(context: Any) -> None:
    """A lock held past the busy timeout is a clear, retryable error, never a driver traceback."""
    busy = busy_error(context.original_exception)
    if busy is not None:
        raise busy


def connect(url: str) -> Engine:
    try:
        engine = create_engine(sqlalchemy_url(url), future=True)
    except (ArgumentError, ImportError) as exc:
        raise ConfigError(f"cannot use database URL {make_url_safe(url)}: {exc}") from exc
    event.listen(engine, "handle_error", _busy)
    if engine.dialect.name == "sqlite":
        _create_private(engine.url.database)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
    return engine


def _create_private(database: str | None) -> None:
    """A new SQLite vault file is readable by its owner only (least privilege, Art. 32)."""
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    path = Path(database)
    if not path.exists() and path.parent.is_dir():
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def make_url_safe(url: str) -> str:
    """The URL with any password hidden, for messages (no secrets in logs)."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparseable URL>"


def _alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def revisions() -> list[str]:
    """The migration history, oldest first (one line: every revision has one parent)."""
    script = ScriptDirectory.from_config(_alembic_config())
    return [rev.revision for rev in reversed(list(script.walk_revisions()))]


def migrate(engine: Engine, revision: str = "head") -> None:
    """Create or upgrade every table to ``revision`` (default: the newest)."""
    config = _alembic_config()
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
    except OperationalError as exc:
        raise ConfigError(
            f"cannot reach the database {make_url_safe(str(engine.url))}: {exc.orig}"
        ) from exc
