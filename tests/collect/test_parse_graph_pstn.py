"""Microsoft Graph getPstnCalls responses."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest

from callvault.collection.parsers.formats import parse_calls
from callvault.collection.parsers.records import ParsedCall, RowError
from callvault.errors import InvalidInput

INBOUND = {  # the example of the Graph v1.0 documentation
    "id": "9c4984c7-6c3c-427d-a30c-bd0b2eacee90",
    "callId": "1835317186_112562680@61.221.3.176",
    "userId": "db03c14b-06eb-4189-939b-7cbf3a20ba27",
    "userPrincipalName": "richard.malk@contoso.com",
    "userDisplayName": "Richard Malk",
    "startDateTime": "2019-11-01T00:00:08.2589935Z",
    "endDateTime": "2019-11-01T00:03:47.2589935Z",
    "duration": 219,
    "charge": 0.00,
    "callType": "user_in",
    "currency": "USD",
    "calleeNumber": "+1234567890",
    "usageCountryCode": "US",
    "tenantCountryCode": "US",
    "connectionCharge": 0.00,
    "callerNumber": "+0123456789",
    "destinationContext": None,
    "destinationName": "United States",
    "conferenceId": None,
    "licenseCapability": "MCOPSTNU",
    "inventoryType": "Subscriber",
    "operator": "Microsoft",
    "callDurationSource": "microsoft",
}
OUTBOUND = INBOUND | {"id": "2", "callType": "user_out", "duration": 0, "endDateTime": None}


def parse(document: Any) -> list[ParsedCall | RowError]:
    data = json.dumps(document).encode()
    return list(parse_calls("graph-pstn", io.BytesIO(data)))


def page(*rows: Any) -> dict[str, Any]:
    return {"@odata.context": "https://graph.microsoft.com/v1.0/$metadata", "value": list(rows)}


def test_inbound_row() -> None:
    [call] = parse(page(INBOUND))
    assert isinstance(call, ParsedCall)
    assert (call.source_id, call.linked_id) == (INBOUND["id"], INBOUND["callId"])
    assert (call.caller, call.callee, call.caller_name) == ("+0123456789", "+1234567890", None)
    assert call.started_at.isoformat() == "2019-11-01T00:00:08.258993+00:00"
    assert (call.duration_s, call.billsec_s, call.outcome) == (219, 219, "answered")
    assert {"userPrincipalName", "userDisplayName", "userId"} <= set(call.dropped_fields)
    assert "conferenceId" not in call.dropped_fields  # null: nothing was there to drop


def test_outbound_row_without_duration() -> None:
    _, call = parse(page(INBOUND, OUTBOUND))
    assert isinstance(call, ParsedCall) and call.line == 1
    assert (call.outcome, call.answered_at, call.ended_at) == ("no_answer", None, None)
    assert call.caller_name == "Richard Malk" and "userDisplayName" not in call.dropped_fields


@pytest.mark.parametrize(
    ("row", "pointer"),
    [
        ({k: v for k, v in INBOUND.items() if k != "startDateTime"}, "/value/1/startDateTime"),
        (INBOUND | {"startDateTime": "2019-11-01T00:00:08"}, "/value/1/startDateTime"),
        (INBOUND | {"duration": -1}, "/value/1/duration"),
        (INBOUND | {"duration": "219"}, "/value/1/duration"),
        (INBOUND | {"callerNumber": 4512345678}, "/value/1/callerNumber"),
        ("not a row", "/value/1"),
        (INBOUND | {"endDateTime": "2019-11-01T00:00:07Z"}, "/value/1/endDateTime"),
        (INBOUND | {"startDateTime": "9999-11-01T00:00:08Z"}, "/value/1/startDateTime"),
        (INBOUND | {"duration": 10**30}, "/value/1/duration"),
    ],
)
def test_bad_row_has_a_pointer(row: Any, pointer: str) -> None:
    good, error = parse(page(INBOUND, row))
    assert isinstance(good, ParsedCall)
    assert isinstance(error, RowError) and error.pointer == pointer and error.line is None


def test_not_json_names_the_line() -> None:
    with pytest.raises(InvalidInput) as caught:
        list(parse_calls("graph-pstn", io.BytesIO(b'{\n"value": [\n,]}')))
    assert caught.value.line == 3


@pytest.mark.parametrize(("document", "pointer"), [([], ""), ({"values": []}, "/value")])
def test_wrong_document_shape(document: Any, pointer: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse(document)
    assert caught.value.pointer == pointer


@pytest.mark.parametrize(
    ("call_type", "side"),
    [("user_in", "callee"), ("conf_in", "callee"), ("user_out", "caller"),
     ("user_out_transfer", "caller"), ("emergency_user_out", "caller"), ("other", None)],
)  # fmt: skip
def test_call_type_names_the_users_side(call_type: str, side: str | None) -> None:
    [call] = parse(page(INBOUND | {"callType": call_type}))
    assert isinstance(call, ParsedCall) and call.user_side == side
    assert (call.caller, call.callee) == ("+0123456789", "+1234567890")  # never swapped here


def test_unknown_fields_are_counted_as_other() -> None:
    [call] = parse(page(INBOUND | {"richard.malk@contoso.com": 1}))
    assert isinstance(call, ParsedCall) and "other" in call.dropped_fields
    assert "richard.malk@contoso.com" not in call.dropped_fields
