"""callvault's own JSON Lines call format."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest

from callvault.collection.parsers.formats import parse_calls
from callvault.collection.parsers.records import ParsedCall, RowError

CALL = {
    "id": "c-1",
    "linked_id": "call-17",
    "start": "2024-03-05T14:02:11+01:00",
    "answer": "2024-03-05T14:02:19+01:00",
    "end": "2024-03-05T14:05:40+01:00",
    "duration": 209,
    "caller": " +4522334455 ",
    "callee": "201",
    "caller_name": "Alice",
    "outcome": "answered",
}


def parse(*lines: Any) -> list[ParsedCall | RowError]:
    text = "\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines)
    return list(parse_calls("jsonl", io.BytesIO(text.encode())))


def test_full_record() -> None:
    [call] = parse(CALL)
    assert isinstance(call, ParsedCall)
    assert (call.source_id, call.linked_id, call.caller, call.callee) == (
        "c-1", "call-17", "+4522334455", "201",
    )  # fmt: skip
    assert call.started_at.isoformat() == "2024-03-05T13:02:11+00:00"
    assert (call.duration_s, call.billsec_s, call.outcome) == (209, 201, "answered")


def test_minimal_record_and_unknown_keys() -> None:
    minimal = {k: CALL[k] for k in ("id", "start", "duration", "caller", "callee", "outcome")}
    [call] = parse(minimal | {"note": "VIP customer", "agent": "bob"})
    assert isinstance(call, ParsedCall)
    assert (call.answered_at, call.linked_id, call.billsec_s) == (None, None, 209)
    assert call.dropped_fields == ("other", "other")  # a key's name is the source's: not shown


@pytest.mark.parametrize(
    ("line", "pointer", "reason"),
    [
        (CALL | {"start": "2024-03-05T14:02:11"}, "/start", "offset"),
        (CALL | {"duration": True}, "/duration", "integer"),
        (CALL | {"outcome": "voicemail"}, "/outcome", "one of"),
        ({k: v for k, v in CALL.items() if k != "callee"}, "/callee", "required"),
        (CALL | {"id": ""}, "/id", "non-empty"),
        ("[1, 2]", None, "object"),
        ('{"id": ', None, "not JSON"),
    ],
)
def test_bad_line(line: Any, pointer: str | None, reason: str) -> None:
    good, error = parse(CALL, line)
    assert isinstance(good, ParsedCall)
    assert isinstance(error, RowError) and error.line == 2 and error.pointer == pointer
    assert reason in error.reason


def test_blank_lines_and_undecodable_bytes() -> None:
    kept = json.dumps(CALL).replace('"201"', '"2\xa501"').encode("latin-1")
    dropped = json.dumps(CALL | {"caller_name": "Al\xa5ce", "note": "\xa5"}).encode("latin-1")
    data = b"\n" + json.dumps(CALL).encode() + b"\n" + kept + b"\n" + dropped + b"\n\xc3\x28\n"
    first, bad, fine, broken = parse_calls("jsonl", io.BytesIO(data))
    assert isinstance(first, ParsedCall) and first.line == 2
    assert isinstance(bad, RowError) and (bad.line, bad.pointer) == (3, "/callee")
    assert bad.reason == "callee is not UTF-8 text"
    assert isinstance(fine, ParsedCall) and fine.caller_name is not None
    assert isinstance(broken, RowError) and broken.line == 5 and "not JSON" in broken.reason
