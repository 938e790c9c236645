"""Bulk writes for ingest: DBAPI ``executemany`` of plain tuples, no per-value ORM/Core processing.

SQLAlchemy Core's per-parameter type processing costs more than the insert itself at a million
rows, so the hot paths pass tuples straight to the driver: SQLite gets timestamps in the exact text
form SQLAlchemy writes (``YYYY-MM-DD HH:MM:SS.ffffff``, so comparisons stay correct), PostgreSQL's
binary COPY aware datetimes (see :func:`time_encoder`). Values are bound parameters, never SQL text.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from concurrent import futures
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import Connection, Table

_LOG = logging.getLogger(__name__)
TimeEncoder = Callable[[datetime | None], object]
T = TypeVar("T")


def _sqlite_time(value: datetime | None) -> object:
    if value is None:
        return None
    if value.tzinfo is not UTC:
        if value.tzinfo is None:  # as PostgreSQL's COPY and the vault's UTCDateTime refuse it
            raise TypeError("naive datetime given to the vault; use timezone-aware UTC")
        value = value.astimezone(UTC)
    return value.isoformat(" ", "microseconds")[:26]  # without the "+00:00"


def _as_is(value: datetime | None) -> object:
    return value


def time_encoder(conn: Connection) -> TimeEncoder:
    """How this database takes a UTC timestamp as a raw driver parameter.

    PostgreSQL takes the aware datetime as it is: :func:`_copy` dumps it as ``timestamptz``, whose
    binary form is the one a ``timestamp`` column receives (microseconds since 2000-01-01), counted
    in UTC, so the column holds the naive UTC time the vault stores (``UTCDateTime``) whatever the
    session's time zone, with no conversion per value in Python; a naive datetime is refused there
    (TypeError), as the vault refuses it everywhere.
    """
    return _sqlite_time if conn.dialect.name == "sqlite" else _as_is


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


# Timestamps go as timestamptz: see time_encoder (same binary form, UTC, aware values only).
_PG_TYPES = {"VARCHAR": "text", "TEXT": "text", "BYTEA": "bytea", "INTEGER": "int4",
             "TIMESTAMP": "timestamptz", "DATETIME": "timestamptz"}  # fmt: skip


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
    """Database work on the ingest's connection, run in order by a worker thread while the caller
    reads and keys the next batch.

    The database's own work on a batch (SQLite's b-tree inserts, PostgreSQL's COPY on the server,
    the next batch's duplicate probe) runs without the GIL, so parsing, blind-indexing and building
    the next batch's rows overlap it instead of waiting for it. Jobs run one after the other in the
    order submitted, so a probe submitted after a write sees that write. The connection is used by
    one thread at a time: :meth:`wait` must be called before the caller touches the connection
    itself (a lookup, the audit entry). Same transaction, same rows: a failure in the worker is
    raised by :meth:`wait` once every job is over. An in-memory SQLite database is bound to its
    thread: there, each job runs at once.
    """

    def __init__(self, conn: Connection) -> None:
        self._pool = (
            None
            if _thread_bound(conn)
            else ThreadPoolExecutor(max_workers=1, thread_name_prefix="callvault-write")
        )
        self._pending: list[Future[Any]] = []

    def submit(self, work: Callable[..., T], *args: Any) -> Future[T]:
        """Run ``work(*args)`` after the jobs submitted before; its future."""
        if self._pool is None:
            done: Future[T] = Future()
            done.set_result(work(*args))  # an error is raised here and now
            return done
        future = self._pool.submit(work, *args)
        self._pending.append(future)
        return future

    def write(
        self,
        conn: Connection,
        table: Table,
        columns: Sequence[str],
        rows: Sequence[tuple[Any, ...]],
    ) -> None:
        """INSERT ``rows`` (:func:`insert_rows`) behind."""
        self.submit(insert_rows, conn, table, columns, rows)

    def wait(self) -> None:
        """Until every job submitted is over; then the first job's error, if one failed."""
        pending, self._pending = self._pending, []
        if not pending:
            return
        futures.wait(pending)  # all of them: none may still use the connection after this
        for future in pending:
            future.result()

    def close(self) -> None:
        """Stop the worker once its jobs are over. Raises nothing: on the way out of an error the
        caller's own error is the one to report (and the transaction rolls back either way), and
        the worker's is logged by its class; on success the caller has called :meth:`wait`, which
        raises the worker's error."""
        pending, self._pending = self._pending, []
        if self._pool is None:
            return
        self._pool.shutdown(wait=True)
        error = next((e for e in map(Future.exception, pending) if e is not None), None)
        if error is not None:  # the class only: a driver's message could quote a value
            _LOG.warning("ingest: the write behind failed too (%s)", type(error).__name__)


def _thread_bound(conn: Connection) -> bool:
    """An in-memory SQLite database, whose connection only its own thread may use."""
    url = conn.engine.url
    database = url.database or ""
    return url.get_backend_name() == "sqlite" and (
        database in ("", ":memory:") or "mode=memory" in str(url)
    )
