'''Asterisk ``cdr_csv`` Master.csv.

Layout, from Asterisk's ``cdr/cdr_csv.c`` (``build_csv_record``) and ``configs/samples/cdr.conf``
(``[csv]`` section): no header; 16 base columns ::

    accountcode, src, dst, dcontext, clid, channel, dstchannel, lastapp, lastdata,
    start, answer, end, duration, billsec, disposition, amaflags

then ``uniqueid`` if ``loguniqueid=yes``, ``userfield`` if ``loguserfield=yes`` and
``peeraccount, linkedid, sequence`` if ``newcdrcolumns=yes``. We accept 16, 18 (both log options),
19 (``newcdrcolumns`` only) and 21 columns. 17 and 20 are refused: with only one of the two log
options on, the extra column could be either ``uniqueid`` or ``userfield``.

Strings are double-quoted with inner quotes doubled (``"""Alice"" <201>"``); integers are bare; an
unset time (``answer`` of an unanswered call) is an empty, unquoted field. Times are
``%Y-%m-%d %T`` in the server's local time, or UTC with ``usegmtime=yes``. Local times are
ambiguous in the autumn DST hour; we read them as the first (summer-time) occurrence. A local time
in the spring DST gap never happened and is a bad row.

A byte that is not UTF-8 (a caller name in Latin-1, say) is read as a lone surrogate: it makes a
row bad only when it is in a column we keep, and the error names the line and the column.

This module also holds what the Asterisk-compatible CSV formats share (``asterisk_custom``,
``freeswitch_csv``): :func:`read_rows`, :class:`Clock` and :func:`count`.
'''

from __future__ import annotations

import csv
import functools
import itertools
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta, tzinfo
from typing import IO, Final, NamedTuple
from zoneinfo import ZoneInfo

from callvault.clock import utcnow
from callvault.collection.parsers.records import (
    FUTURE,
    MAX_SECONDS,
    ParsedCall,
    RowError,
    caller_id,
    check_call,
    new_call,
    row_digest,
)
from callvault.errors import InvalidInput

DEFAULT_TZ: Final = "Europe/Copenhagen"
MAX_LINE: Final = 1 << 20  # bytes; a longer "line" is not a CDR file, and must not fill memory

Build = Callable[[int, list[str]], ParsedCall]
Columns = Callable[[int], tuple[str, ...] | None]  # a row's column names, by its number of columns
At = Callable[[str, str], datetime]  # Clock.at: (text, field name) -> UTC datetime
NameOf = Callable[[str], str | None]  # a caller id -> its name part


# --- reading CSV from a binary stream ---------------------------------------------------------


def read_rows(
    stream: IO[bytes],
    build: Build,
    columns: Columns,
    kept: frozenset[str],
    *,
    skipinitialspace: bool = False,
) -> Iterator[ParsedCall | RowError]:
    """Stream ``build(line, fields)`` over the CSV records of ``stream``, one at a time.

    ``build`` raises ValueError for a bad row; that, and malformed CSV, become a RowError naming
    the line where the record starts. Blank lines are skipped. Bytes that are not UTF-8 are read
    as lone surrogates (``surrogateescape``): in a column the gate drops (``columns(len(row))``
    names the columns, ``kept`` those read) they never matter; in a kept column, or a row of no
    known layout, they make that row bad, naming its line and the field.
    """
    lines = Lines(stream)
    reader = csv.reader(lines, skipinitialspace=skipinitialspace)
    latest = utcnow() + FUTURE
    last = 0
    while True:
        try:
            for row in reader:
                start, last = last + 1, reader.line_num
                if not row:
                    continue
                try:
                    if lines.undecodable and lines.undecodable.intersection(range(start, last + 1)):
                        check_text(row, columns(len(row)), kept)
                    item: ParsedCall | RowError = check_call(build(start, row), latest)
                except ValueError as exc:
                    item = RowError(start, None, str(exc))
                yield item
            return
        except csv.Error as exc:
            start, last = last + 1, reader.line_num
            yield RowError(start, None, f"malformed CSV: {exc}")


def check_text(row: list[str], names: tuple[str, ...] | None, kept: frozenset[str]) -> None:
    """ValueError naming the first kept field of ``row`` that held bytes which are not UTF-8."""
    for number, value in enumerate(row):
        if not undecodable(value):
            continue
        if names is None:
            raise ValueError(f"column {number + 1} is not UTF-8 text")
        if names[number] in kept:
            raise ValueError(f"{names[number]} is not UTF-8 text")


def undecodable(text: str) -> bool:
    """True for text decoded with ``surrogateescape`` from bytes that were not UTF-8."""
    return any("\udc80" <= c <= "\udcff" for c in text) if not text.isascii() else False


class Lines:
    """The decoded lines of a binary stream, read and decoded a chunk at a time.

    Decoding line by line in a generator costs more than parsing the CSV; chunks keep it cheap.
    A chunk that is not all UTF-8 is decoded line by line with ``surrogateescape``, and the lines
    that needed it are remembered in :attr:`undecodable` (usually empty, so checking it is free).
    """

    CHUNK: Final = 1024  # lines

    def __init__(self, stream: IO[bytes]) -> None:
        self._next = functools.partial(stream.readline, MAX_LINE)
        self.undecodable: set[int] = set()

    def __iter__(self) -> Iterator[str]:
        return itertools.chain.from_iterable(self._chunks())

    def _chunks(self) -> Iterator[list[str]]:
        number = 1
        source = iter(self._next, b"")
        while chunk := list(itertools.islice(source, self.CHUNK)):
            text = self._decode(chunk, number)
            if number == 1 and text[0].startswith("\ufeff"):
                text[0] = text[0][1:]  # a byte order mark some exporters write
            number += len(chunk)
            yield text

    def _decode(self, chunk: list[bytes], number: int) -> list[str]:
        if MAX_LINE in map(len, chunk):
            for offset, data in enumerate(chunk):
                if len(data) == MAX_LINE and not data.endswith(b"\n"):
                    raise InvalidInput(f"line longer than {MAX_LINE} bytes", line=number + offset)
        try:
            return list(map(bytes.decode, chunk))
        except UnicodeDecodeError:
            text = []
            for offset, data in enumerate(chunk):
                try:
                    text.append(data.decode())
                except UnicodeDecodeError:
                    text.append(data.decode("utf-8", "surrogateescape"))
                    self.undecodable.add(number + offset)
            return text


# --- values -----------------------------------------------------------------------------------


def count(text: str, name: str) -> int:
    """A non-negative integer field (seconds). ``int()`` alone would take ``-1``, ``1_0``, ``٣``."""
    if text.isdigit() and text.isascii():
        if len(text) <= 10 and int(text) <= MAX_SECONDS:
            return int(text)
        raise ValueError(f"{name} must be between 0 and {MAX_SECONDS} seconds")
    raise ValueError(f"{name} must be a non-negative integer")


def name_cache() -> NameOf:
    """The name part of a caller id, memoised for one file.

    A PBX's CDRs repeat the same few caller ids on line after line. The cache lives as long as
    one parse, so no names or numbers stay in memory after it.
    """
    return functools.lru_cache(maxsize=4096)(lambda clid: caller_id(clid)[0])


def zone(tz: str, utc: bool) -> tzinfo:
    """The time zone a source's wall-clock times are in (ZoneInfo raises for an unknown name)."""
    return UTC if utc else ZoneInfo(tz)


_MINSEC: Final = {
    f"{m:02d}:{s:02d}": timedelta(minutes=m, seconds=s) for m in range(60) for s in range(60)
}


class Clock:
    """Reads ``YYYY-MM-DD HH:MM:SS`` wall-clock times into aware UTC datetimes, fast.

    ``strptime`` plus a zone conversion per value is far too slow for bulk ingest. The UTC
    instant of each local *hour* is computed once and cached; a value is that plus its
    minutes and seconds (a dict lookup). Hours with a UTC offset change inside them (DST) are
    not cached and are converted exactly, value by value.
    """

    __slots__ = ("_hours", "_zone")

    def __init__(self, zone: tzinfo) -> None:
        self._zone = zone
        self._hours: dict[str, datetime | None] = {}

    def at(self, text: str, name: str) -> datetime:
        """The UTC instant of wall-clock ``text``; ValueError names field ``name``."""
        key = text[:13]
        try:
            base = self._hours[key]
        except KeyError:
            base = self._learn(key, text, name)
        delta = _MINSEC.get(text[14:]) if len(text) == 19 and text[13] == ":" else None
        if delta is None:
            raise ValueError(f"{name} is not a YYYY-MM-DD HH:MM:SS time")
        return base + delta if base is not None else self._exact(text, name)

    def _learn(self, key: str, text: str, name: str) -> datetime | None:
        local = _hour(key, text, name)
        ends = [
            local.replace(tzinfo=self._zone),
            (local + timedelta(seconds=3599)).replace(tzinfo=self._zone),
        ]
        offsets = {t.replace(fold=f).utcoffset() for t in ends for f in (0, 1)}
        if len(self._hours) > 100_000:
            self._hours.clear()  # bound memory on very long files; it refills as it goes
        base = None
        if len(offsets) == 1:
            offset = offsets.pop() or timedelta(0)
            try:
                base = (local - offset).replace(tzinfo=UTC)
            except OverflowError:
                raise ValueError(f"{name} is out of range") from None
        self._hours[key] = base
        return base

    def _exact(self, text: str, name: str) -> datetime:
        local = _hour(text[:13], text, name)
        minute, second = int(text[14:16]), int(text[17:19])
        try:
            wall = local.replace(minute=minute, second=second, tzinfo=self._zone)
            moment = wall.astimezone(UTC)
            back = moment.astimezone(self._zone).replace(tzinfo=None)
        except OverflowError:
            raise ValueError(f"{name} is out of range") from None
        if back != wall.replace(tzinfo=None):
            # spring forward: this wall-clock time never happened, so it has no instant
            raise ValueError(f"{name} does not exist in {self._zone} (a DST gap)")
        return moment


def _hour(key: str, text: str, name: str) -> datetime:
    digits = key[0:4] + key[5:7] + key[8:10] + key[11:13]
    if (
        len(key) == 13
        and key[4] + key[7] + key[10] == "-- "
        and digits.isdigit()
        and digits.isascii()
    ):
        try:
            return datetime(int(key[0:4]), int(key[5:7]), int(key[8:10]), int(key[11:13]))
        except ValueError:
            pass
    raise ValueError(f"{name} is not a YYYY-MM-DD HH:MM:SS time")


# --- cdr_csv ----------------------------------------------------------------------------------

_BASE: Final = (
    "accountcode", "src", "dst", "dcontext", "clid", "channel", "dstchannel", "lastapp",
    "lastdata", "start", "answer", "end", "duration", "billsec", "disposition", "amaflags",
)  # fmt: skip
_KEPT: Final = frozenset({"src", "dst", "start", "answer", "end", "duration", "billsec",
                          "disposition", "uniqueid", "linkedid", "sequence"})  # fmt: skip

#: Asterisk's ast_cdr_disp2str; "UNKNOWN" is what it prints for anything else.
DISPOSITIONS: Final = {
    "ANSWERED": "answered",
    "NO ANSWER": "no_answer",
    "BUSY": "busy",
    "FAILED": "failed",
    "CONGESTION": "failed",
    "UNKNOWN": "failed",
}


class Layout(NamedTuple):
    """Where the optional columns of one cdr_csv variant are, and what it drops."""

    names: tuple[str, ...]
    uniqueid: int | None
    linkedid: int | None
    sequence: int | None
    dropped: tuple[str, ...]


def _layout(*extra: str) -> Layout:
    names = _BASE + extra

    def at(name: str) -> int | None:
        return names.index(name) if name in names else None

    dropped = tuple(n for n in names if n not in _KEPT)
    return Layout(names, at("uniqueid"), at("linkedid"), at("sequence"), dropped)


LAYOUTS: Final = {
    16: _layout(),
    18: _layout("uniqueid", "userfield"),
    19: _layout("peeraccount", "linkedid", "sequence"),
    21: _layout("uniqueid", "userfield", "peeraccount", "linkedid", "sequence"),
}


def parse(
    stream: IO[bytes], *, utc: bool = False, tz: str = DEFAULT_TZ
) -> Iterator[ParsedCall | RowError]:
    """Stream the records of an Asterisk cdr_csv Master.csv."""
    at = Clock(zone(tz, utc)).at
    return read_rows(stream, functools.partial(_build, at, name_cache()), _names, _KEPT)


def _names(width: int) -> tuple[str, ...] | None:
    layout = LAYOUTS.get(width)
    return layout.names if layout is not None else None


def _build(at: At, name_of: NameOf, line: int, row: list[str]) -> ParsedCall:
    layout = LAYOUTS.get(len(row))
    if layout is None:
        raise ValueError(f"{len(row)} columns; cdr_csv writes 16, 18, 19 or 21")
    outcome = DISPOSITIONS.get(row[14])
    if outcome is None:
        raise ValueError("disposition is none that Asterisk writes")
    return new_call(
        line,
        _source_id(layout, row),
        (row[layout.linkedid] or None) if layout.linkedid is not None else None,
        at(row[9], "start"),
        at(row[10], "answer") if row[10] else None,  # empty: never answered
        at(row[11], "end") if row[11] else None,
        count(row[12], "duration"),
        count(row[13], "billsec"),
        row[1].strip() or None,  # caller: src
        row[2].strip() or None,  # callee: dst
        name_of(row[4]) if row[4] else None,  # caller_name, from clid
        outcome,
        layout.dropped,
    )


def _source_id(layout: Layout, row: list[str]) -> str:
    """uniqueid is per *channel*: one channel dialling two phones writes two CDRs with it.

    So it identifies a record only together with ``sequence`` (a per-CDR counter); without
    that column, we add a digest of the row.
    """
    uid = row[layout.uniqueid] if layout.uniqueid is not None else ""
    if layout.sequence is not None:
        first = uid or (row[layout.linkedid] if layout.linkedid is not None else "")
        if first:
            return f"{first}#{row[layout.sequence]}"
    if uid:
        return f"{uid}#{row_digest(row)[:16]}"
    return row_digest(row)


__all__ = [
    "DEFAULT_TZ",
    "Clock",
    "check_text",
    "count",
    "name_cache",
    "parse",
    "read_rows",
    "undecodable",
    "zone",
]
