"""Bulk writes for ingest: DBAPI ``executemany`` of plain tuples, no per-value ORM/Core processing.

SQLAlchemy Core's per-parameter type processing costs more than the insert itself at a million
rows, so the hot paths pass tuples straight to the driver: SQLite gets timestamps in the exact text
form SQLAlchemy writes (``YYYY-MM-DD HH:MM:SS.ffffff``, so comparisons stay correct), PostgreSQL
naive UTC datetimes (psycopg pipelines ``executemany``). Values are bound parameters, never SQL text.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Table

_LOG = logging.getLogger(__name__)
TimeEncoder = Callable[[datetime | None], object]


def _sqlite_time(value: datetime | None) -> object:
    if value is None:
        return None
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    return value.isoformat(" ", "microseconds")[:26]  # without the "+00:00"


def _naive_utc(value: datetime | None) -> object:
    if value is None:
        return None
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    return value.replace(tzinfo=None)


def time_encoder(conn: Connection) -> TimeEncoder:
    """How this database takes a UTC timestamp as a raw driver parameter."""
    return _sqlite_time if conn.dialect.name == "sqlite" else _naive_utc


def insert_rows(
    conn: Connection, table: Table, columns: Sequence[str], rows: Sequence[tuple[object, ...]]
) -> None:
    """INSERT ``rows`` (tuples in ``columns`` order): COPY on PostgreSQL, else one executemany."""
    if not rows:
        return
    if conn.dialect.name == "postgresql":
        _copy(conn, table, columns, rows)
        return
    marker = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    names = ", ".join(table.c[name].name for name in columns)  # KeyError for a wrong column
    sql = f"INSERT INTO {table.name} ({names}) VALUES ({', '.join([marker] * len(columns))})"
    conn.exec_driver_sql(sql, list(rows))


_PG_TYPES = {"VARCHAR": "text", "TEXT": "text", "BYTEA": "bytea", "INTEGER": "int4",
             "TIMESTAMP": "timestamp", "DATETIME": "timestamp"}  # fmt: skip


def _pg_type(table: Table, column: str, conn: Connection) -> str:
    name = table.c[column].type.compile(dialect=conn.dialect).split("(")[0].split()[0]
    return _PG_TYPES[name.upper()]


def _copy(
    conn: Connection, table: Table, columns: Sequence[str], rows: Sequence[tuple[object, ...]]
) -> None:
    """PostgreSQL binary COPY FROM STDIN inside the connection's open transaction (psycopg 3).

    Binary, so that keys and ciphertexts go over the wire as they are, without bytea escaping.
    """
    names = ", ".join(table.c[name].name for name in columns)
    types = [_pg_type(table, name, conn) for name in columns]
    dbapi: Any = conn.connection.dbapi_connection  # a psycopg.Connection
    statement = f"COPY {table.name} ({names}) FROM STDIN (FORMAT BINARY)"
    with dbapi.cursor() as cursor, cursor.copy(statement) as copy:
        copy.set_types(types)
        for row in rows:
            copy.write_row(row)


def fetch_in(
    conn: Connection, template: str, tenant_id: str, keys: Sequence[bytes]
) -> list[tuple[Any, ...]]:
    """Run a ``SELECT ... WHERE tenant_id = {p} AND x {in}`` template over binary ``keys``.

    ``{in}`` becomes ``IN (?, ...)`` on SQLite; on PostgreSQL ``= ANY(...)`` over one text
    parameter of comma-separated hex (decoded by the server): thousands of keys cost one statement,
    no per-key SQL compilation and no per-key parameter escaping.
    """
    if not keys:
        return []
    if conn.dialect.name == "postgresql":
        keyset = "= ANY(ARRAY(SELECT decode(unnest(string_to_array(%s, ',')), 'hex')))"
        sql = template.format(p="%s", **{"in": keyset})
        hexes = ",".join(key.hex() for key in keys)
        return list(conn.exec_driver_sql(sql, (tenant_id, hexes)).all())
    sql = template.format(p="?", **{"in": f"IN ({', '.join('?' * len(keys))})"})
    return list(conn.exec_driver_sql(sql, (tenant_id, *keys)).all())


def serialise_ingest(conn: Connection, tenant_id: str) -> None:
    """One ingest per tenant at a time: a second waits, then sees what the first stored.

    Without it, two concurrent ingests could both create the same external caller or store the
    same record (each checks before the other commits). PostgreSQL: a transaction-scoped advisory
    lock. SQLite: take the write lock now (``BEGIN IMMEDIATE``, waiting up to the busy timeout), so
    that no read of this transaction predates another writer's commit. Call it first thing.
    """
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(
            "SELECT pg_advisory_xact_lock(hashtext(%s))", (f"callvault.ingest:{tenant_id}",)
        )
    elif conn.dialect.name == "sqlite":
        dbapi: Any = conn.connection.dbapi_connection
        if not dbapi.in_transaction:
            conn.exec_driver_sql("BEGIN IMMEDIATE")


class WriteBehind:
    """One batch's INSERT runs in a worker thread while the caller reads and keys the next batch.

    The database's own work on a batch (SQLite's b-tree inserts, PostgreSQL's COPY on the server)
    runs without the GIL, so parsing and blind-indexing the next batch overlap it instead of
    waiting for it. The connection is used by one thread at a time: :meth:`wait` must be called
    before the caller touches the connection again (the next batch's SELECTs, the audit entry).
    Same transaction, same rows: a failure in the worker is raised by the next :meth:`wait`.
    An in-memory SQLite database is bound to its thread: there, each write runs at once.
    """

    def __init__(self, conn: Connection) -> None:
        self._pool = (
            None
            if _thread_bound(conn)
            else ThreadPoolExecutor(max_workers=1, thread_name_prefix="callvault-write")
        )
        self._pending: Future[None] | None = None

    def submit(
        self,
        conn: Connection,
        table: Table,
        columns: Sequence[str],
        rows: Sequence[tuple[Any, ...]],
    ) -> None:
        self.wait()
        if self._pool is None:
            insert_rows(conn, table, columns, rows)
        else:
            self._pending = self._pool.submit(insert_rows, conn, table, columns, rows)

    def wait(self) -> None:
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.result()

    def close(self) -> None:
        """Stop the worker once its write is over. Raises nothing: on the way out of an error the
        caller's own error is the one to report (and the transaction rolls back either way), and
        the worker's is logged by its class; on success the caller has called :meth:`wait`, which
        raises the worker's error."""
        pending, self._pending = self._pending, None
        if self._pool is None:
            return
        self._pool.shutdown(wait=True)
        error = pending.exception() if pending is not None else None
        if error is not None:  # the class only: a driver's message could quote a value
            _LOG.warning("ingest: the write behind failed too (%s)", type(error).__name__)


def _thread_bound(conn: Connection) -> bool:
    """An in-memory SQLite database, whose connection only its own thread may use."""
    url = conn.engine.url
    database = url.database or ""
    return url.get_backend_name() == "sqlite" and (
        database in ("", ":memory:") or "mode=memory" in str(url)
    )
