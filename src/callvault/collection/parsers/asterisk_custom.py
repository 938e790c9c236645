"""Asterisk ``cdr_custom`` Master.csv, in the sample configuration's default mapping.

The mapping, from Asterisk's ``configs/samples/cdr_custom.conf.sample`` (``[mappings]``)::

    Master.csv => ${CSV_QUOTE(${CDR(clid)})},${CSV_QUOTE(${CDR(src)})},${CSV_QUOTE(${CDR(dst)})},
        ${CSV_QUOTE(${CDR(dcontext)})},${CSV_QUOTE(${CDR(channel)})},...,${CDR(sequence)}

gives 19 columns, with ``clid`` first (cdr_csv puts ``accountcode`` first)::

    clid, src, dst, dcontext, channel, dstchannel, lastapp, lastdata, start, answer, end,
    duration, billsec, disposition, amaflags, accountcode, uniqueid, userfield, sequence

Mappings from before Asterisk 1.8 end at ``userfield`` (18 columns); both are accepted. The
sample's second, "high resolution" mapping writes ``CDR(duration,f)``: seconds with a fraction
(``12.345``), which we accept and truncate to whole seconds. Times are ``%Y-%m-%d %T`` local time.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import IO, Final

from callvault.collection.parsers.asterisk_csv import (
    DEFAULT_TZ,
    DISPOSITIONS,
    At,
    Clock,
    NameOf,
    count,
    name_cache,
    read_rows,
    zone,
)
from callvault.collection.parsers.records import ParsedCall, RowError, new_call, row_digest

COLUMNS: Final = (
    "clid", "src", "dst", "dcontext", "channel", "dstchannel", "lastapp", "lastdata", "start",
    "answer", "end", "duration", "billsec", "disposition", "amaflags", "accountcode", "uniqueid",
    "userfield", "sequence",
)  # fmt: skip
_KEPT: Final = frozenset({"src", "dst", "start", "answer", "end", "duration", "billsec",
                          "disposition", "uniqueid", "sequence"})  # fmt: skip
DROPPED: Final = tuple(name for name in COLUMNS if name not in _KEPT)


def parse(
    stream: IO[bytes], *, utc: bool = False, tz: str = DEFAULT_TZ
) -> Iterator[ParsedCall | RowError]:
    """Stream the records of a cdr_custom Master.csv written with the sample mapping."""
    at = Clock(zone(tz, utc)).at
    return read_rows(stream, functools.partial(_build, at, name_cache()), _names, _KEPT)


def _names(width: int) -> tuple[str, ...] | None:
    return COLUMNS[:width] if width in (18, 19) else None


def _build(at: At, name_of: NameOf, line: int, row: list[str]) -> ParsedCall:
    if len(row) not in (18, 19):
        raise ValueError(f"{len(row)} columns; the cdr_custom sample mapping writes 19 (or 18)")
    outcome = DISPOSITIONS.get(row[13])
    if outcome is None:
        raise ValueError("disposition is none that Asterisk writes")
    return new_call(
        line,
        _source_id(row),
        None,  # linked_id: the sample mapping does not log linkedid
        at(row[8], "start"),
        at(row[9], "answer") if row[9] else None,
        at(row[10], "end") if row[10] else None,
        _seconds(row[11], "duration"),
        _seconds(row[12], "billsec"),
        row[1].strip() or None,  # caller: src
        row[2].strip() or None,  # callee: dst
        name_of(row[0]) if row[0] else None,  # caller_name, from clid
        outcome,
        DROPPED,
    )


def _seconds(text: str, name: str) -> int:
    """Whole seconds; the high-resolution mapping's ``12.345`` is truncated."""
    whole, dot, fraction = text.partition(".")
    if dot and not (fraction.isdigit() and fraction.isascii()):
        raise ValueError(f"{name} must be a non-negative number of seconds")
    return count(whole, name)


def _source_id(row: list[str]) -> str:
    # uniqueid names a channel, which can have several CDRs: pair it with the CDR sequence
    uid, sequence = row[16].strip(), row[18].strip() if len(row) == 19 else ""
    if uid and sequence:
        return f"{uid}#{sequence}"
    return f"{uid}#{row_digest(row)[:16]}" if uid else row_digest(row)
