"""Asterisk cdr_custom Master.csv, written with the sample configuration's mapping."""

from __future__ import annotations

import io

from callvault.collection.parsers.formats import parse_calls
from callvault.collection.parsers.records import ParsedCall, RowError

# ${CSV_QUOTE(...)} around every field but ${CDR(sequence)}: clid first, accountcode 16th.
ROW = (
    '"""Alice"" <201>","201","4522334455","from-internal","PJSIP/201-00000001",'
    '"PJSIP/trunk-00000002","Dial","PJSIP/4522334455@trunk,60","2024-03-05 14:02:11",'
    '"2024-03-05 14:02:19","2024-03-05 14:05:40","209","201","ANSWERED","DOCUMENTATION","",'
    '"1709643731.1","",7'
)


def parse(text: str) -> list[ParsedCall | RowError]:
    return list(parse_calls("asterisk-custom", io.BytesIO(text.encode()), utc=True))


def test_sample_mapping() -> None:
    [call] = parse(ROW)
    assert isinstance(call, ParsedCall)
    assert (call.caller, call.callee, call.caller_name) == ("201", "4522334455", "Alice")
    assert (call.duration_s, call.billsec_s, call.outcome) == (209, 201, "answered")
    assert call.source_id == "1709643731.1#7"
    assert call.started_at.isoformat() == "2024-03-05T14:02:11+00:00"
    assert "clid" in call.dropped_fields and "accountcode" in call.dropped_fields


def test_high_resolution_durations_are_truncated() -> None:
    [call] = parse(ROW.replace('"209","201"', '"209.482001","201.013000"'))
    assert isinstance(call, ParsedCall) and (call.duration_s, call.billsec_s) == (209, 201)


def test_pre_1_8_mapping_without_sequence() -> None:
    [call] = parse(ROW.removesuffix(",7"))
    assert isinstance(call, ParsedCall) and call.source_id.startswith("1709643731.1#")


def test_unanswered_and_bad_rows() -> None:
    unanswered = ROW.replace('"2024-03-05 14:02:19"', '""').replace('"ANSWERED"', '"NO ANSWER"')
    call, error = parse(f"{unanswered}\n{ROW.replace('209', 'x')}\n")
    assert isinstance(call, ParsedCall) and call.answered_at is None
    assert isinstance(error, RowError) and error.line == 2 and "duration" in error.reason
