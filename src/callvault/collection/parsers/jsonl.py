"""callvault's own call-record format: JSON Lines, one call (leg) per line.

Each non-blank line is a JSON object (RFC 8259, UTF-8, https://jsonlines.org)::

    {"id": "c-0001", "linked_id": "call-17", "start": "2024-03-05T14:02:11+01:00",
     "answer": "2024-03-05T14:02:19+01:00", "end": "2024-03-05T14:05:40+01:00",
     "duration": 209, "billsec": 201, "caller": "+4522334455", "callee": "201",
     "caller_name": "Alice", "outcome": "answered"}

=============  ========  ===========================================================================
key            required  value
=============  ========  ===========================================================================
id             yes       non-empty string, unique in the source (used to de-duplicate re-ingests)
linked_id      no        string shared by the legs of one call, or null
start          yes       ISO 8601 date-time *with* a UTC offset (``Z`` or ``+01:00``)
answer         no        ISO 8601 date-time with offset, or null (unanswered)
end            no        ISO 8601 date-time with offset, or null
duration       yes       integer seconds >= 0, start to end
billsec        no        integer seconds >= 0, answer to end; default: end - answer when both are
                         given, else ``duration`` for an answered call and 0 otherwise
caller         yes       string, the number or extension as dialled ("" or null: withheld)
callee         yes       string ("" or null: unknown)
caller_name    no        string or null
outcome        yes       "answered", "no_answer", "busy" or "failed"
=============  ========  ===========================================================================

Any other key is dropped unread and counted in ``dropped_fields`` as ``other`` (its name is the
source's choice, and may be a number or an e-mail address). A bad line is a RowError with its line
number and a JSON pointer to the bad value (``/duration``), never the value. Bytes that are not
UTF-8 make the line bad only when they are in a kept value (``caller_name`` and other keys are
dropped anyway).

The helpers :func:`instant`, :func:`seconds` and :func:`text` are shared with ``graph_pstn``.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import IO, Any, Final

from callvault.clock import utcnow
from callvault.collection.parsers.asterisk_csv import DEFAULT_TZ, MAX_LINE, undecodable
from callvault.collection.parsers.records import (
    FUTURE,
    MAX_SECONDS,
    OTHER,
    OUTCOMES,
    BadValue,
    ParsedCall,
    RowError,
    check_call,
)
from callvault.errors import InvalidInput

KEYS: Final = frozenset({"id", "linked_id", "start", "answer", "end", "duration", "billsec",
                         "caller", "callee", "caller_name", "outcome"})  # fmt: skip
#: The keys whose values are stored (``caller_name`` is read only to be counted as dropped).
KEPT: Final = KEYS - {"caller_name"}


def parse(
    stream: IO[bytes], *, utc: bool = False, tz: str = DEFAULT_TZ
) -> Iterator[ParsedCall | RowError]:
    """Stream the records of a callvault JSONL file (``utc``/``tz`` are unused: times carry
    their offset)."""
    del utc, tz
    latest = utcnow() + FUTURE
    for number, data in enumerate(iter(functools.partial(stream.readline, MAX_LINE), b""), 1):
        text = _decode(data, number).strip()
        if text:
            yield _row(number, text, latest)


def _decode(data: bytes, number: int) -> str:
    if len(data) == MAX_LINE and not data.endswith(b"\n"):
        raise InvalidInput(f"line longer than {MAX_LINE} bytes", line=number)
    text = data.decode("utf-8", "surrogateescape")
    return text.removeprefix("\ufeff") if number == 1 else text


def _row(number: int, text: str, latest: datetime) -> ParsedCall | RowError:
    try:
        obj = json.loads(text)
    except (ValueError, RecursionError) as exc:
        return RowError(number, None, f"not JSON: {_json_error(exc)}")
    if not isinstance(obj, dict):
        return RowError(number, None, "not a JSON object")
    try:
        if undecodable(text):
            check_text(obj, KEPT)
        return check_call(_call(number, obj), latest)
    except BadValue as exc:
        return RowError(number, f"/{exc.key}", str(exc))


def _json_error(exc: Exception) -> str:
    """Where JSON went wrong (``Expecting value: line 1 column 9``), without any of its text."""
    if isinstance(exc, json.JSONDecodeError):
        return f"{exc.msg} at column {exc.colno}"
    return "too deeply nested" if isinstance(exc, RecursionError) else "unreadable number"


def check_text(obj: dict[str, Any], kept: frozenset[str]) -> None:
    """BadValue for the first ``kept`` key whose string value held bytes that are not UTF-8."""
    for key in kept:
        value = obj.get(key)
        if isinstance(value, str) and undecodable(value):
            raise BadValue(key, f"{key} is not UTF-8 text")


def _call(number: int, obj: dict[str, Any]) -> ParsedCall:
    started = instant(obj, "start")
    answered, ended = optional_instant(obj, "answer"), optional_instant(obj, "end")
    duration = seconds(obj, "duration")
    outcome = obj.get("outcome")
    if outcome not in OUTCOMES:
        raise BadValue("outcome", f"outcome must be one of {sorted(OUTCOMES)}")
    return ParsedCall(
        line=number,
        source_id=_required_text(obj, "id"),
        linked_id=text(obj, "linked_id"),
        started_at=started,
        answered_at=answered,
        ended_at=ended,
        duration_s=duration,
        billsec_s=_billsec(obj, answered, ended, duration, outcome),
        caller=text(obj, "caller", required=True),
        callee=text(obj, "callee", required=True),
        caller_name=text(obj, "caller_name"),
        outcome=outcome,
        dropped_fields=tuple(OTHER for key in obj if key not in KEYS),
    )


def _billsec(
    obj: dict[str, Any], answered: datetime | None, ended: datetime | None, duration: int,
    outcome: str,
) -> int:  # fmt: skip
    if "billsec" in obj:
        return seconds(obj, "billsec")
    if answered is not None and ended is not None:
        return max(0, int((ended - answered).total_seconds()))
    return duration if outcome == "answered" else 0


def _required_text(obj: dict[str, Any], key: str) -> str:
    value = text(obj, key, required=True)
    if value is None:
        raise BadValue(key, f"{key} must be a non-empty string")
    return value


# --- JSON value helpers (also used by graph_pstn) ----------------------------------------------


def text(obj: dict[str, Any], key: str, *, required: bool = False) -> str | None:
    """A string value, stripped; "" and null read as None. ``required``: the key must exist."""
    if key not in obj:
        if required:
            raise BadValue(key, f"{key} is required")
        return None
    value = obj[key]
    if value is None:
        return None
    if not isinstance(value, str):
        raise BadValue(key, f"{key} must be a string")
    return value.strip() or None


def seconds(obj: dict[str, Any], key: str) -> int:
    """A required integer >= 0 (a JSON ``true`` is not a number here, whatever Python thinks)."""
    value = obj.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise BadValue(key, f"{key} must be a non-negative integer")
    if value > MAX_SECONDS:
        raise BadValue(key, f"{key} must be between 0 and {MAX_SECONDS} seconds")
    return value


def instant(obj: dict[str, Any], key: str) -> datetime:
    """A required ISO 8601 date-time with a UTC offset, as an aware UTC datetime."""
    value = obj.get(key)
    if not isinstance(value, str):
        raise BadValue(key, f"{key} must be an ISO 8601 date-time string")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise BadValue(key, f"{key} is not an ISO 8601 date-time") from None
    if moment.tzinfo is None:
        raise BadValue(key, f"{key} needs a UTC offset (Z or +01:00)")
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        raise BadValue(key, f"{key} is out of range") from None


def optional_instant(obj: dict[str, Any], key: str) -> datetime | None:
    return None if obj.get(key) is None else instant(obj, key)
