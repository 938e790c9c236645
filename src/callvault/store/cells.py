"""The statistics cell: one home for its time bucket and its rounding (DESIGN, "Anonymisation").

Live statistics (:mod:`callvault.processing.statistics`), retention's aggregation of expired calls and
its pooling of small cells (:mod:`callvault.retention`) all cut time and round durations here, so a
stored cell and a live one describe the same thing and merge exactly (Recital 26: no exact duration,
no instant finer than the bucket survives).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Connection, Date, cast, func, literal_column

BUCKETS = ("hour", "day")
ROUND_S = 10  # each call's seconds are rounded to this before summing

_SQLITE_FORMAT = {"hour": "'%Y-%m-%d %H:00:00.000000'", "day": "'%Y-%m-%d 00:00:00.000000'"}
_STEP = {"hour": timedelta(hours=1), "day": timedelta(days=1)}


def bucket_start(conn: Connection, column: Any, by: str) -> ColumnElement[Any]:
    """The start of the hour or day (UTC) of a timestamp column, in the column's storage format.

    On SQLite that is SQLAlchemy's own text form (``YYYY-MM-DD HH:MM:SS.ffffff``), so a bucket
    compares and merges with stored ``bucket_start`` values as SQLAlchemy would write them.
    """
    if conn.dialect.name == "postgresql":
        return func.date_trunc(literal_column(f"'{by}'"), column)
    return func.strftime(literal_column(_SQLITE_FORMAT[by]), column)


def day_of(conn: Connection, column: Any) -> ColumnElement[Any]:
    """The UTC date of a timestamp column (billing records keep the day only)."""
    if conn.dialect.name == "postgresql":
        return cast(column, Date)
    return func.date(column)


def rounded(column: Any) -> ColumnElement[Any]:
    """A duration rounded to :data:`ROUND_S` seconds, half up: no exact duration survives."""
    return (column + ROUND_S // 2) // ROUND_S * ROUND_S


def floor(moment: datetime, by: str) -> datetime:
    """The start (UTC) of the hour or day that holds ``moment``."""
    moment = moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    return moment.replace(hour=0) if by == "day" else moment


def ceil(moment: datetime, by: str) -> datetime:
    """The first bucket boundary at or after ``moment``."""
    start = floor(moment, by)
    return start if start == moment.astimezone(UTC) else start + _STEP[by]
