"""Prepared statements: a hot statement compiled once per dialect and run on the driver's cursor.

SQLAlchemy's ``Connection.execute`` costs tens of microseconds per call in Python (cache key, result
set-up, events) where an indexed SELECT or a one-row INSERT on SQLite costs a few: for the question
the processing gate asks per decision (``consent_state``) and for the audit entry every change and
decision writes, that overhead is most of the time. A :class:`Prepared` keeps
everything SQLAlchemy gives (the statement is still a Core construct, rendered by the dialect; bound
values and results pass through the columns' types, e.g. timestamps stay timezone-aware UTC) and
skips only the per-call machinery. It runs inside the connection's transaction (begun as
SQLAlchemy would, so SQLite's BEGIN comes from :mod:`callvault.store.database`), and driver errors
are turned into the same ``Busy`` error as every other statement's.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import CompoundSelect, Connection, Dialect, Insert, Select, Update
from sqlalchemy.exc import DBAPIError

from callvault.store.database import busy_error

Processor = Callable[[Any], Any] | None


@dataclass(frozen=True, slots=True)
class _Compiled:
    sql: str
    named: bool  # pyformat (psycopg) or qmark (sqlite3)
    insert: bool  # an INSERT of every column: a column left out of the values is NULL
    # In the order the driver takes them: the name, the caller's key (None: a constant of the
    # statement such as LIMIT's), the constant, and the type's conversion.
    binds: tuple[tuple[str, str | None, Any, Processor], ...]
    results: tuple[Processor, ...]
    row: Any  # the namedtuple class of a result row
    reads: tuple[tuple[int, Callable[[Any], Any]], ...]  # the results' conversions, by position


class Prepared:
    """One statement, compiled per dialect on first use: :meth:`first` returns a SELECT's first
    row, :meth:`run` executes an INSERT (of every column) or UPDATE and returns the row count."""

    def __init__(self, statement: Select[Any] | CompoundSelect | Insert | Update) -> None:
        self._statement = statement
        self._compiled: dict[str, _Compiled] = {}

    def _compile(self, dialect: Dialect) -> _Compiled:
        compiled = self._statement.compile(dialect=dialect)
        by_name = {
            name: (
                name,
                bind.key if bind.required else None,
                bind.value,
                bind.type.dialect_impl(dialect).bind_processor(dialect),
            )
            for bind, name in compiled.bind_names.items()
        }
        order = compiled.positiontup if compiled.positiontup is not None else list(by_name)
        binds = tuple(by_name[name] for name in order)
        columns = list(getattr(self._statement, "selected_columns", ()))
        results = tuple(
            c.type.dialect_impl(dialect).result_processor(dialect, None) for c in columns
        )
        row = namedtuple("Row", [c.key for c in columns])  # type: ignore[misc]
        named, insert = compiled.positiontup is None, isinstance(self._statement, Insert)
        reads = tuple((i, process) for i, process in enumerate(results) if process is not None)
        return _Compiled(compiled.string, named, insert, binds, results, row, reads)

    def first(self, conn: Connection, values: Mapping[str, Any]) -> Any | None:
        """The first row for ``values`` (by bind parameter name), or None."""
        compiled = self._compiled.get(conn.dialect.name) or self._for(conn)
        found = self._execute(conn, compiled, _params(compiled, values), many=False).fetchone()
        if found is None:
            return None
        if compiled.reads:
            found = list(found)
            for i, process in compiled.reads:
                if found[i] is not None:  # NULL reads back as None through every type
                    found[i] = process(found[i])
        return compiled.row._make(found)

    def run(self, conn: Connection, values: Mapping[str, Any]) -> int:
        """Execute with ``values``; the number of rows written."""
        compiled = self._compiled.get(conn.dialect.name) or self._for(conn)
        return int(self._execute(conn, compiled, _params(compiled, values), many=False).rowcount)

    def run_many(self, conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
        """Execute once per row of ``rows`` (the driver's executemany)."""
        if rows:
            compiled = self._for(conn)
            params = [_params(compiled, values) for values in rows]
            one = len(params) == 1
            self._execute(conn, compiled, params[0] if one else params, many=not one)

    def _for(self, conn: Connection) -> _Compiled:
        dialect = conn.dialect
        compiled = self._compiled.get(dialect.name)
        if compiled is None:
            compiled = self._compiled[dialect.name] = self._compile(dialect)
        return compiled

    def _execute(self, conn: Connection, compiled: _Compiled, params: Any, *, many: bool) -> Any:
        """Run on the driver's cursor (one row's ``params``, or with ``many`` a list of them)."""
        if not conn.in_transaction():
            conn.begin()  # what conn.execute would do: the BEGIN of this connection's reads
        fairy = conn.connection  # one cursor per driver connection, kept in its info, reused
        driver, info = fairy.dbapi_connection, fairy.info
        held = info.get(_CURSOR)
        if held is None or held[0] is not driver:
            held = info[_CURSOR] = (driver, driver.cursor())  # type: ignore[union-attr]
        cursor = held[1]
        try:
            if many:
                cursor.executemany(compiled.sql, params)
            else:
                cursor.execute(compiled.sql, params)
        except conn.dialect.loaded_dbapi.Error as exc:  # as SQLAlchemy would wrap it, values hidden
            busy = busy_error(exc)
            if busy is not None:
                raise busy from exc
            error = conn.dialect.loaded_dbapi.Error
            raise DBAPIError.instance(compiled.sql, None, exc, error, hide_parameters=True) from exc
        return cursor


def _params(compiled: _Compiled, values: Mapping[str, Any]) -> Any:
    """The driver's parameters for one row: converted by type, in its order (or by name)."""
    if compiled.insert:  # no Python-side column defaults here: callers give every NOT NULL value
        values = _Nulls(values)
    bound = [
        (constant if key is None else values[key])
        if process is None
        else process(constant if key is None else values[key])
        for _, key, constant, process in compiled.binds
    ]
    if compiled.named:
        return {b[0]: value for b, value in zip(compiled.binds, bound, strict=True)}
    return bound


class _Nulls(dict[str, Any]):
    """An INSERT's values: a column not given is NULL."""

    def __missing__(self, key: str) -> None:
        return None


_CURSOR = "callvault_prepared_cursor"  # connection info: (driver connection, its cursor)


# One cursor per driver connection, reused (Prepared._execute): a prepared query fetches its one
# row at once, so the cursor holds nothing open between calls.
