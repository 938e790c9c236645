"""Microsoft Graph PSTN call log: the response of ``callRecords/getPstnCalls``.

Source: Microsoft Graph v1.0, "callRecord: getPstnCalls" and "pstnCallLogRow resource type"
(learn.microsoft.com/graph/api/resources/callrecords-pstncalllogrow). The document is one page
of the log: an object whose ``value`` array holds ``pstnCallLogRow`` objects::

    {"@odata.context": "...", "@odata.count": 1000, "value": [
        {"id": "9c4984c7-...", "callId": "1835317186_112562680@61.221.3.176",
         "userId": "db03c14b-...", "userPrincipalName": "richard.malk@contoso.com",
         "userDisplayName": "Richard Malk", "startDateTime": "2019-11-01T00:00:08.2589935Z",
         "endDateTime": "2019-11-01T00:03:47.2589935Z", "duration": 219, "charge": 0.0,
         "callType": "user_in", "currency": "USD", "calleeNumber": "+1234567890",
         "callerNumber": "+0123456789", ...}],
     "@odata.nextLink": "..."}

``id`` is the row's GUID (our ``source_id``); ``callId`` is "not guaranteed to be unique" and
serves as ``linked_id``. ``duration`` is the *connected* time in seconds, so a row with a
duration is an answered call and one without is not. Times carry up to seven fractional digits
(Python keeps six). ``callType`` (``user_in``, ``user_out``, ``emergency_user_out``, ...) ends in
``_out`` when the Teams user placed the call: only then is ``userDisplayName`` the caller's name.

A JSON document cannot be read row by row with the standard library, so the page is parsed
whole (Graph pages hold at most 1,000 rows). Bad rows are RowErrors with a JSON pointer such as
``/value/3/startDateTime``; ``line`` of a record is its index in ``value``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from typing import IO, Any, Final

from callvault.clock import utcnow
from callvault.collection.parsers.asterisk_csv import DEFAULT_TZ
from callvault.collection.parsers.jsonl import instant, optional_instant, seconds, text
from callvault.collection.parsers.records import FUTURE, BadValue, ParsedCall, RowError, check_call
from callvault.errors import InvalidInput

#: Fields we read; every other field present in a row is reported in dropped_fields.
KEPT: Final = frozenset({"id", "callId", "startDateTime", "endDateTime", "duration",
                         "callerNumber", "calleeNumber", "callType", "@odata.type"})  # fmt: skip
#: check_call's generic names -> the Graph field they come from (for the pointer)
_KEYS: Final = {"start": "startDateTime", "answer": "startDateTime", "end": "endDateTime",
                "billsec": "duration"}  # fmt: skip


def parse(
    stream: IO[bytes], *, utc: bool = False, tz: str = DEFAULT_TZ
) -> Iterator[ParsedCall | RowError]:
    """Stream the rows of one getPstnCalls page (``utc``/``tz`` unused: times carry offsets)."""
    del utc, tz
    rows = _rows(_document(stream.read()))
    latest = utcnow() + FUTURE
    for index, row in enumerate(rows):
        yield _row(index, row, latest)


def _document(data: bytes) -> Any:
    try:
        return json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise InvalidInput("not UTF-8 text", line=data.count(b"\n", 0, exc.start) + 1) from None
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"not JSON: {exc.msg}", line=exc.lineno) from None
    except (ValueError, RecursionError) as exc:  # e.g. a number too long to convert, deep nesting
        raise InvalidInput(f"not readable JSON: {exc}", pointer="") from None


def _rows(document: Any) -> list[Any]:
    if not isinstance(document, dict):
        raise InvalidInput("a getPstnCalls response must be a JSON object", pointer="")
    rows = document.get("value")
    if not isinstance(rows, list):
        raise InvalidInput('the document has no "value" array of call rows', pointer="/value")
    return rows


def _row(index: int, row: Any, latest: datetime) -> ParsedCall | RowError:
    pointer = f"/value/{index}"
    if not isinstance(row, dict):
        return RowError(None, pointer, "a call row must be a JSON object", _raw(row))
    try:
        return check_call(_call(index, row), latest)
    except BadValue as exc:
        key = _KEYS.get(exc.key, exc.key)
        return RowError(None, f"{pointer}/{_escape(key)}", str(exc), _raw(row))


def _raw(row: Any) -> str:
    return json.dumps(row, ensure_ascii=False)


def _call(index: int, row: dict[str, Any]) -> ParsedCall:
    started = instant(row, "startDateTime")
    duration = seconds(row, "duration")
    answered = duration > 0
    outbound = (text(row, "callType") or "").endswith("_out")
    source_id = text(row, "id")
    if source_id is None:
        raise BadValue("id", "id must be a non-empty string")
    name = text(row, "userDisplayName") if outbound else None
    return ParsedCall(
        line=index,
        source_id=source_id,
        linked_id=text(row, "callId"),
        started_at=started,
        # Graph gives the connected time only; for a connected call it starts at startDateTime
        answered_at=started if answered else None,
        ended_at=optional_instant(row, "endDateTime"),
        duration_s=duration,
        billsec_s=duration,
        caller=text(row, "callerNumber"),
        callee=text(row, "calleeNumber"),
        caller_name=name,
        outcome="answered" if answered else "no_answer",
        dropped_fields=_dropped(row, name is not None),
    )


def _dropped(row: dict[str, Any], used_name: bool) -> tuple[str, ...]:
    return tuple(
        key
        for key, value in row.items()
        if value is not None and key not in KEPT and not (used_name and key == "userDisplayName")
    )


def _escape(key: str) -> str:
    """RFC 6901: ``~`` and ``/`` in a key are written ``~0`` and ``~1``."""
    return key.replace("~", "~0").replace("/", "~1")
