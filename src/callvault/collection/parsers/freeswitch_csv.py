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

Legs: ``cdr_csv.conf.xml``'s ``legs`` parameter "may be a b or ab" (default ``a``): which legs of a
bridged call are logged, each as its own row with its own ``uuid``. ``bleg_uuid`` is where the other
leg's uuid appears, but not always on both rows: an A-leg may carry the B-leg's uuid or nothing, a
B-leg carries the A-leg's. So a row's link key (``linked_id``) is derived from whichever uuid field
carries it: the link already given to its ``uuid`` or ``bleg_uuid`` by an earlier row of the file,
else ``bleg_uuid``, else its own ``uuid``. Both legs of a call logged with ``legs=ab`` then share one
key whatever their order; a ``legs=b`` row alone is keyed by its A-leg's uuid.
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
#: (``caller_id_name`` is read, and counted as the dropped ``caller_name`` by the ingest.)
DROPPED: Final = {13: ("context", "accountcode"), 15: ("context", "accountcode", "read_codec",
                                                       "write_codec")}  # fmt: skip
KEPT: Final = frozenset(COLUMNS[1:12]) - {"context"}
_LINKS: Final = 100_000  # uuids remembered for linking legs; legs of one call are close together

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
    build = functools.partial(_build, at, Links())
    # skipinitialspace: the default template writes `, "${accountcode}"`
    return read_rows(stream, build, _names, KEPT, skipinitialspace=True)


def _names(width: int) -> tuple[str, ...] | None:
    return COLUMNS[:width] if width in DROPPED else None


class Links:
    """The link key of each leg: see the module docstring. Memory is bounded by :data:`_LINKS`."""

    def __init__(self) -> None:
        self._of: dict[str, str] = {}

    def __call__(self, uuid: str, bleg_uuid: str) -> str | None:
        of = self._of
        link = of.get(uuid) or (of.get(bleg_uuid) if bleg_uuid else None) or bleg_uuid or uuid
        if not link:
            return None
        if len(of) > _LINKS:
            of.clear()
        if uuid:
            of[uuid] = link
        if bleg_uuid:
            of[bleg_uuid] = link
        return link


def _build(at: At, link: Links, line: int, row: list[str]) -> ParsedCall:
    dropped = DROPPED.get(len(row))
    if dropped is None:
        raise ValueError(f"{len(row)} columns; the example template writes 15 (default: 13)")
    billsec = count(row[8], "billsec")
    answered = at(row[5], "answer_stamp") if row[5] else None
    uuid, bleg_uuid = row[10].strip(), row[11].strip()
    return new_call(
        line,
        uuid or row_digest(row),  # source_id
        link(uuid, bleg_uuid),  # linked_id
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
