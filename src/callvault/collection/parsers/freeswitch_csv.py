"""FreeSWITCH ``mod_cdr_csv`` Master.csv, written with the ``example`` template.

The template, from FreeSWITCH's ``conf/vanilla/autoload_configs/cdr_csv.conf.xml``::

    "${caller_id_name}","${caller_id_number}","${destination_number}","${context}",
    "${start_stamp}","${answer_stamp}","${end_stamp}","${duration}","${billsec}",
    "${hangup_cause}","${uuid}","${bleg_uuid}","${accountcode}","${read_codec}","${write_codec}"

15 columns. The module's built-in ``default`` template (``mod_cdr_csv.c``) is the same without
the two codecs and with a space before ``"${accountcode}"``: 13 columns, also accepted.

``mod_cdr_csv`` expands variables into the template without escaping: a ``"`` inside a caller
name is written bare. The row still reads, with that name's quotes displaced; if the name also
holds a comma, the columns shift and the row is reported. Stamps are
``%Y-%m-%d %T`` in the server's local time; ``answer_stamp`` is empty for an unanswered call.
With the default ``legs="a"`` only A-legs are logged; ``bleg_uuid`` links one to its B-leg.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import IO, Final

from callvault.collection.parsers.asterisk_csv import DEFAULT_TZ, At, Clock, count, read_rows, zone
from callvault.collection.parsers.records import ParsedCall, RowError, new_call, row_digest

COLUMNS: Final = (
    "caller_id_name", "caller_id_number", "destination_number", "context", "start_stamp",
    "answer_stamp", "end_stamp", "duration", "billsec", "hangup_cause", "uuid", "bleg_uuid",
    "accountcode", "read_codec", "write_codec",
)  # fmt: skip
#: Kept fields are all in the first 12 columns; what the two templates drop, by column count.
DROPPED: Final = {13: ("context", "accountcode"), 15: ("context", "accountcode", "read_codec",
                                                       "write_codec")}  # fmt: skip

#: Q.850 hangup causes (as FreeSWITCH names them) of calls that were never answered.
CAUSES: Final = {
    "NO_ANSWER": "no_answer",
    "ORIGINATOR_CANCEL": "no_answer",
    "NO_USER_RESPONSE": "no_answer",
    "NORMAL_CLEARING": "no_answer",  # cleared before anyone answered
    "USER_BUSY": "busy",
}


def parse(
    stream: IO[bytes], *, utc: bool = False, tz: str = DEFAULT_TZ
) -> Iterator[ParsedCall | RowError]:
    """Stream the records of a mod_cdr_csv Master.csv (``example`` or ``default`` template)."""
    at = Clock(zone(tz, utc)).at
    # skipinitialspace: the default template writes `, "${accountcode}"`
    return read_rows(stream, functools.partial(_build, at), skipinitialspace=True)


def _build(at: At, line: int, row: list[str]) -> ParsedCall:
    dropped = DROPPED.get(len(row))
    if dropped is None:
        raise ValueError(f"{len(row)} columns; the example template writes 15 (default: 13)")
    billsec = count(row[8], "billsec")
    answered = at(row[5], "answer_stamp") if row[5] else None
    return new_call(
        line,
        row[10].strip() or row_digest(row),  # source_id: uuid
        row[11].strip() or None,  # linked_id: bleg_uuid
        at(row[4], "start_stamp"),
        answered,
        at(row[6], "end_stamp") if row[6] else None,
        count(row[7], "duration"),
        billsec,
        row[1].strip() or None,  # caller: caller_id_number
        row[2].strip() or None,  # callee: destination_number
        row[0].strip() or None,  # caller_name: caller_id_name
        _outcome(row[9], answered is not None or billsec > 0),
        dropped,
    )


def _outcome(cause: str, answered: bool) -> str:
    """An answered call is answered whatever ended it (a MEDIA_TIMEOUT after ten minutes' talk)."""
    if answered:
        return "answered"
    return CAUSES.get(cause.strip().upper(), "failed")
