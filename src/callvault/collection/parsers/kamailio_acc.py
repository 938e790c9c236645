"""Kamailio ``acc`` module records: transactions (``acc``, ``missed_calls``) and dialog CDRs.

Tables, from Kamailio's ``utils/kamctl/db_sqlite/acc-create.sql`` (the same for ``db_postgres``):

- ``acc`` and ``missed_calls``: ``id, method, from_tag, to_tag, callid, sip_code, sip_reason, time``
  plus the columns the configuration adds with ``db_extra`` (``src_user``, ``src_domain``,
  ``src_ip``, ``dst_ouser``, ``dst_user``, ``dst_domain`` in Kamailio's sample ``kamailio.cfg``);
- ``acc_cdrs`` (``cdr_enable=1``, needs the ``dialog`` module): ``id, start_time, end_time,
  duration`` plus ``cdr_extra`` columns (we read ``src_user``/``dst_user`` and ``callid`` there too).

``time``, ``start_time`` and ``end_time`` are ``TIMESTAMP WITHOUT TIME ZONE``. ``db_postgres`` writes
them as text in the server's local time (``--tz``, or ``--utc``); ``db_sqlite`` binds them as a
Julian day number (``timet_to_sqlite``: ``(t - 0.5) / 86400 + 2440587.5``, a REAL), which is a UTC
instant whatever the zone. Both are read.

What is a call: a dialog CDR is an answered call (start = answer = ``start_time``, duration and
billsec = ``duration``, rounded); an ``INVITE`` with a final reply of 300 or more is an unanswered
one (486/600/603 busy; 408/480/487 no answer, 487 being a cancelled call; else failed). Every other
transaction (the ``INVITE`` 200 and the ``BYE`` of an answered call) is covered by the CDR and
yields nothing. The call's ``source_id`` is its Call-ID, so a call in both ``missed_calls`` and
``acc`` (``failed_transaction_flag``) is stored once; it reaches storage only as a keyed blind
index. Call-IDs, tags, IPs, domains, user agents, contacts and the reason phrase are read, never
kept: their names are counted as dropped (Art. 5(1)(c)).

The CSV export is one table with a header row (``sqlite3 -header -csv``, ``psql \\copy ... CSV
HEADER``).
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from typing import IO, Final

from callvault.clock import utcnow
from callvault.collection.parsers.asterisk_csv import DEFAULT_TZ, Clock, Lines, zone
from callvault.collection.parsers.records import (
    FUTURE,
    MAX_SECONDS,
    ParsedCall,
    RowError,
    check_call,
    known,
    new_call,
    row_digest,
)
from callvault.errors import InvalidInput

TRANSACTION: Final = ("method", "from_tag", "to_tag", "callid", "sip_code", "sip_reason", "time")
CDR: Final = ("start_time", "end_time", "duration")
CALLERS: Final = ("src_user", "caller")  # extra columns naming the caller, first found wins
CALLEES: Final = ("dst_ouser", "dst_user", "callee")  # dst_ouser: the dialled R-URI user
#: Known columns that are read or dropped; any other column name is counted as ``other``.
FIELDS: Final = frozenset(
    {*TRANSACTION, *CDR, *CALLERS, *CALLEES, "id", "src_domain", "src_ip", "dst_domain",
     "dst_ip", "ua", "user_agent", "contact", "from_uri", "to_uri", "ruri"}
)  # fmt: skip
UNIX_EPOCH_JD: Final = 2440587.5  # the Julian day of 1970-01-01T00:00Z
JULIAN_RANGE: Final = (UNIX_EPOCH_JD, 2488069.5)  # 1970 .. 2100
BUSY: Final = frozenset({"486", "600", "603"})
NO_ANSWER: Final = frozenset({"408", "480", "487"})

Row = Mapping[str, str]
Build = Callable[[int | None, str | None, Row], "ParsedCall | None"]


def parse(
    stream: IO[bytes], *, utc: bool = False, tz: str = DEFAULT_TZ
) -> Iterator[ParsedCall | RowError]:
    """Stream the calls of one exported table (CSV with a header row)."""
    reader = csv.reader(Lines(stream))
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise InvalidInput(f"malformed CSV header: {exc}", line=1) from None
    if header is None:
        return
    names = tuple(name.strip().lower() for name in header)
    build = builder(names, tz=tz, utc=utc)
    if build is None:
        raise InvalidInput("header names no Kamailio acc, missed_calls or acc_cdrs table", line=1)
    yield from _rows(reader, names, build)


def _rows(reader: Iterator[list[str]], names: tuple[str, ...], build: Build) -> Iterator:
    last = 1
    while True:
        try:
            for row in reader:
                start, last = last + 1, reader.line_num  # type: ignore[attr-defined]
                if not row:
                    continue
                if len(row) != len(names):
                    yield RowError(
                        start, None, f"{len(row)} columns; the header names {len(names)}"
                    )
                    continue
                item = safely(build, start, None, dict(zip(names, row, strict=True)))
                if item is not None:
                    yield item
            return
        except csv.Error as exc:
            start, last = last + 1, reader.line_num  # type: ignore[attr-defined]
            yield RowError(start, None, f"malformed CSV: {exc}")


def safely(
    build: Build, line: int | None, pointer: str | None, row: Row
) -> ParsedCall | RowError | None:
    """``build(...)``, a ValueError becoming a RowError that names the field, not the value."""
    try:
        return build(line, pointer, row)
    except ValueError as exc:
        return RowError(line, pointer, str(exc))


def builder(names: tuple[str, ...], *, tz: str, utc: bool) -> Build | None:
    """The row builder for a table with columns ``names``; None when it is no acc table."""
    columns = set(names)
    at = Clock(zone(tz, utc)).at
    latest = utcnow() + FUTURE
    caller = next((n for n in CALLERS if n in columns), None)
    callees: list[str] = [n for n in CALLEES if n in columns]
    if set(CDR) <= columns:
        kept = {*CDR, *([caller] if caller else []), *callees}
        dropped = known((n for n in names if n not in kept and n != "id"), FIELDS)
        return lambda line, pointer, row: check_call(
            _cdr(at, line, row, caller, callees, dropped), latest
        )
    if {"method", "sip_code", "time"} <= columns:
        kept = {"time", *([caller] if caller else []), *callees}
        dropped = known((n for n in names if n not in kept and n != "id"), FIELDS)
        return lambda line, pointer, row: _checked(
            _transaction(at, line, row, caller, callees, dropped), latest
        )
    return None


def _checked(call: ParsedCall | None, latest: datetime) -> ParsedCall | None:
    return None if call is None else check_call(call, latest)


def _party(row: Row, names: list[str] | tuple[str, ...]) -> str | None:
    for name in names:
        value = row[name].strip()
        if value:
            return value
    return None


def _identity(row: Row) -> str:
    callid = row.get("callid", "").strip()
    return "call:" + callid if callid else row_digest(row.values())


def _cdr(
    at: Callable[[str, str], datetime], line: int | None, row: Row, caller: str | None,
    callees: list[str], dropped: tuple[str, ...],
) -> ParsedCall:  # fmt: skip
    start = _moment(at, row["start_time"], "start_time")
    end = _moment(at, row["end_time"], "end_time")
    seconds = _seconds(row["duration"])
    return new_call(
        line or 0, _identity(row), None, start, start, end, seconds, seconds,
        _party(row, [caller] if caller else []), _party(row, callees), None, "answered", dropped,
    )  # fmt: skip


def _transaction(
    at: Callable[[str, str], datetime], line: int | None, row: Row, caller: str | None,
    callees: list[str], dropped: tuple[str, ...],
) -> ParsedCall | None:  # fmt: skip
    code = row["sip_code"].strip()
    if row["method"].strip().upper() != "INVITE" or not _final_failure(code):
        return None  # a BYE, an ACK, an answered INVITE: the dialog CDR is that call's record
    moment = _moment(at, row["time"], "time")
    outcome = "busy" if code in BUSY else "no_answer" if code in NO_ANSWER else "failed"
    return new_call(
        line or 0, _identity(row), None, moment, None, moment, 0, 0,
        _party(row, [caller] if caller else []), _party(row, callees), None, outcome, dropped,
    )  # fmt: skip


def _final_failure(code: str) -> bool:
    if not (len(code) == 3 and code.isdigit() and code.isascii()):
        raise ValueError("sip_code is not a three-digit SIP status code")
    return code >= "300"


def _moment(at: Callable[[str, str], datetime], text: str, name: str) -> datetime:
    """A local wall-clock stamp through ``at``, or db_sqlite's Julian day number (UTC)."""
    text = text.strip()
    if text[:1].isdigit() and "-" not in text:
        try:
            day = float(text)
        except ValueError:
            raise ValueError(f"{name} is neither a date-time nor a Julian day") from None
        if not JULIAN_RANGE[0] <= day <= JULIAN_RANGE[1]:
            raise ValueError(f"{name} is a Julian day out of range")
        # sqlite_to_timet() in db_sqlite: whole seconds, rounded as Kamailio reads them back
        return datetime.fromtimestamp(int(86400.0 * (day - UNIX_EPOCH_JD) + 0.5), UTC)
    return at(_stamp(text), name)


def _stamp(text: str) -> str:
    """``YYYY-MM-DD HH:MM:SS`` from what the databases and exports write (``T``, fractions)."""
    text = text.strip().replace("T", " ", 1)
    return text[:19] if len(text) > 19 and text[19] in ".+" else text


def _seconds(text: str) -> int:
    """``acc_cdrs.duration`` is REAL (milliseconds as a fraction): rounded to whole seconds."""
    try:
        value = float(text)
    except ValueError:
        raise ValueError("duration is not a number") from None
    if not 0 <= value <= MAX_SECONDS:
        raise ValueError(f"duration must be between 0 and {MAX_SECONDS} seconds")
    return round(value)


__all__ = ["CDR", "FIELDS", "TRANSACTION", "builder", "parse", "safely"]
