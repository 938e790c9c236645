"""The registry of call-record formats, and the one entry point the ingest flow calls.

Every parser takes a binary stream and streams its records: a :class:`ParsedCall` per good row,
a :class:`RowError` per bad one (the caller chooses: reject the whole file, or skip and write the
rejects aside). A file that cannot be read at all raises :class:`~callvault.errors.InvalidInput`
with ``line`` or ``pointer`` set.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO, Final, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from callvault.collection.parsers import (
    asterisk_csv,
    asterisk_custom,
    freeswitch_csv,
    graph_pstn,
    jsonl,
    kamailio_acc,
)
from callvault.collection.parsers.asterisk_csv import DEFAULT_TZ
from callvault.collection.parsers.records import ParsedCall, RowError
from callvault.errors import UsageError


class Parser(Protocol):
    def __call__(
        self, stream: IO[bytes], *, utc: bool = ..., tz: str = ...
    ) -> Iterator[ParsedCall | RowError]: ...


PARSERS: Final[dict[str, Parser]] = {
    "asterisk-csv": asterisk_csv.parse,
    "asterisk-custom": asterisk_custom.parse,
    "freeswitch-csv": freeswitch_csv.parse,
    "graph-pstn": graph_pstn.parse,
    "jsonl": jsonl.parse,
    "kamailio-acc": kamailio_acc.parse,
}


def parse_calls(
    format: str, stream: IO[bytes], *, utc: bool = False, tz: str = DEFAULT_TZ
) -> Iterator[ParsedCall | RowError]:
    """Stream the call records of ``stream`` (opened in binary mode) in the named format.

    ``utc`` says the source's wall-clock times are UTC (Asterisk ``usegmtime=yes``); otherwise
    they are local times in ``tz``. Formats whose times carry an offset ignore both.
    Raises UsageError, before reading anything, for an unknown format, time zone or a text stream.
    """
    parser = PARSERS.get(format)
    if parser is None:
        raise UsageError(f"unknown call format {format!r}; one of: {', '.join(PARSERS)}")
    _check_zone(tz)
    if hasattr(stream, "encoding"):
        raise UsageError("open the call file in binary mode ('rb'); parsers decode it themselves")
    return parser(stream, utc=utc, tz=tz)


def _check_zone(tz: str) -> None:
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise UsageError(f"unknown time zone {tz!r}") from exc


__all__ = ["PARSERS", "Parser", "parse_calls"]
