"""Reading Kamailio's accounting tables straight from its database (``db_sqlite``/``db_postgres``).

The three tables (``acc``, ``missed_calls``, ``acc_cdrs``; see :mod:`kamailio_acc`) each have an
ascending integer ``id``: a reader resumes after the last id it took, table by table, which is
the checkpoint of a follow (:mod:`callvault.collection.ingest.follow`). Tables the server does not
have (no ``cdr_enable``, say) are skipped. The database is only read, never written.

A row's place in an error is ``/<table>/<id>``: Kamailio's rows have no line.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any, Final

from sqlalchemy import Engine, create_engine, inspect, text
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from callvault.collection.parsers.asterisk_csv import DEFAULT_TZ
from callvault.collection.parsers.kamailio_acc import builder, safely
from callvault.collection.parsers.records import ParsedCall, RowError
from callvault.errors import UsageError

TABLES: Final = ("acc", "missed_calls", "acc_cdrs")
Positions = dict[str, int]  # table -> last id taken
Item = tuple[str, int, ParsedCall | RowError | None]  # table, id, what its row is


def is_database(source: object) -> bool:
    """True for a database URL (``sqlite:///...``, ``postgresql://...``), not a file path."""
    return isinstance(source, str) and "://" in source


def connect(url: str) -> Engine:
    """An engine for Kamailio's database; UsageError (naming no part of the URL) when unusable."""
    try:
        return create_engine(url)
    except (ArgumentError, ImportError, ValueError):
        raise UsageError("the Kamailio database URL is not one SQLAlchemy can open") from None


def read(
    engine: Engine, after: Positions, *, limit: int, tz: str = DEFAULT_TZ, utc: bool = False
) -> Iterator[Item]:
    """Up to ``limit`` rows per table with ids above ``after[table]``, in id order."""
    try:
        with engine.connect() as conn:
            present = set(inspect(conn).get_table_names())
            for table in TABLES:
                if table in present:
                    yield from _table(conn, table, after.get(table, 0), limit, tz, utc)
    except SQLAlchemyError as exc:
        raise UsageError(f"cannot read the Kamailio database ({type(exc).__name__})") from None


def _table(conn: Any, table: str, after: int, limit: int, tz: str, utc: bool) -> Iterator[Item]:
    result = conn.execute(
        text(f"SELECT * FROM {table} WHERE id > :after ORDER BY id LIMIT :limit"),
        {"after": after, "limit": limit},
    )
    names = tuple(map(str.lower, result.keys()))
    build = builder(names, tz=tz, utc=utc)
    for values in result:
        row = dict(zip(names, map(_text, values), strict=True))
        row_id = int(row["id"])
        item = None if build is None else safely(build, None, f"/{table}/{row_id}", row)
        yield table, row_id, item


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return str(value)


def records(
    url: str, *, tz: str = DEFAULT_TZ, utc: bool = False
) -> Iterator[ParsedCall | RowError]:
    """Every call of the database (a one-off ingest): what :func:`read` yields, without places."""
    engine = connect(url)
    try:
        for _table_name, _id, item in read(engine, {}, limit=2**62, tz=tz, utc=utc):
            if item is not None:
                yield item
    finally:
        engine.dispose()


__all__ = ["TABLES", "Positions", "connect", "is_database", "read", "records"]
