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
(Python keeps six).

Who called whom. The v1.0 page describes ``calleeNumber`` as the "number dialed" and
``callerNumber`` as the "number that received the call for inbound calls or the number dialed for
outbound calls" (the wording of the Teams admin center's PSTN usage report column "Phone number").
Read literally the two would be one number for an outbound call, so that text cannot be what the
fields hold. The beta page of the same resource, and its base type ``callLogRow``, say it plainly:
``callerNumber`` is the "number of the user or bot who made the call", ``calleeNumber`` the "number
of the user or bot who received the call"; ``otherPartyCountryCode`` is the caller's country for an
incoming call and the callee's for an outgoing one. So ``callerNumber`` is the caller and
``calleeNumber`` the callee, and ``callType`` says which side the Teams user is: ``user_in``,
``conf_in``, ``ucap_in`` (inbound) end in ``_in``, the user is the callee; ``user_out``,
``user_out_conf``, ``user_out_transfer``, ``user_out_forwarding``, ``emergency_user_out``,
``conf_out``, ``ucap_out`` (placed by the user, a conference bridge or a bot) hold ``_out``, the user
is the caller. The parser records that side (``user_side``); the ingest checks it against the
directory and, where the numbers say the opposite (the user's own number as the other side), reads
the row the other way round, so the direction follows the parties either way. ``destinationContext``
(``Domestic``/``International``, from the user's location) says nothing about direction.
``userDisplayName`` is the caller's name only when the user placed the call.

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
from callvault.collection.parsers.asterisk_csv import DEFAULT_TZ, undecodable
from callvault.collection.parsers.jsonl import (
    check_text,
    instant,
    optional_instant,
    seconds,
    text,
)
from callvault.collection.parsers.records import (
    FUTURE,
    BadValue,
    ParsedCall,
    RowError,
    check_call,
    known,
)
from callvault.errors import InvalidInput

#: Fields we read; every other field present in a row is reported in dropped_fields.
KEPT: Final = frozenset({"id", "callId", "startDateTime", "endDateTime", "duration",
                         "callerNumber", "calleeNumber", "callType", "@odata.type"})  # fmt: skip
#: Every property of pstnCallLogRow and its base callLogRow (v1.0 and beta): a dropped field is
#: named only if it is one of these, anything else is counted as ``other``.
FIELDS: Final = KEPT | frozenset({
    "administrativeUnitInfos", "callDurationSource", "charge", "conferenceId", "connectionCharge",
    "currency", "destinationContext", "destinationName", "inventoryType", "licenseCapability",
    "operator", "otherPartyCountryCode", "tenantCountryCode", "usageCountryCode",
    "userDisplayName", "userId", "userPrincipalName",
})  # fmt: skip
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
        # bytes that are not UTF-8 become lone surrogates; in a kept field they reject the row
        return json.loads(data.removeprefix(b"\xef\xbb\xbf").decode("utf-8", "surrogateescape"))
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"not JSON: {exc.msg}", line=exc.lineno) from None
    except (ValueError, RecursionError):  # e.g. a number too long to convert, deep nesting
        raise InvalidInput("not readable JSON (a number too long, or nesting too deep)",
                           pointer="") from None  # fmt: skip


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
        return RowError(None, pointer, "a call row must be a JSON object")
    try:
        if any(isinstance(v, str) and undecodable(v) for v in row.values()):
            check_text(row, KEPT)
        return check_call(_call(index, row), latest)
    except BadValue as exc:
        key = _KEYS.get(exc.key, exc.key)
        return RowError(None, f"{pointer}/{_escape(key)}", str(exc))


def _call(index: int, row: dict[str, Any]) -> ParsedCall:
    started = instant(row, "startDateTime")
    duration = seconds(row, "duration")
    answered = duration > 0
    call_type = text(row, "callType") or ""
    outbound = "_out" in call_type
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
        user_side="caller" if outbound else "callee" if call_type.endswith("_in") else None,
    )


def _dropped(row: dict[str, Any], used_name: bool) -> tuple[str, ...]:
    names = (
        key
        for key, value in row.items()
        if value is not None and key not in KEPT and not (used_name and key == "userDisplayName")
    )
    return known(names, FIELDS)


def _escape(key: str) -> str:
    """RFC 6901: ``~`` and ``/`` in a key are written ``~0`` and ``~1``."""
    return key.replace("~", "~0").replace("/", "~1")
