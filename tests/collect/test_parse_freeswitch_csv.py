"""FreeSWITCH mod_cdr_csv Master.csv with the example template (and the built-in default)."""

from __future__ import annotations

import io

import pytest

from callvault.collection.parsers.formats import parse_calls
from callvault.collection.parsers.records import ParsedCall, RowError

A = "a1b2c3d4-0000-4000-8000-000000000001"
B = "b1b2c3d4-0000-4000-8000-000000000002"
ANSWERED = (
    f'"Alice","201","4522334455","default","2024-03-05 14:02:11","2024-03-05 14:02:19",'
    f'"2024-03-05 14:05:40","209","201","NORMAL_CLEARING","{A}","{B}","","PCMA","PCMA"'
)
CANCELLED = (
    '"","4522334455","201","public","2024-03-05 15:00:00","","2024-03-05 15:00:20","20","0",'
    '"ORIGINATOR_CANCEL","c1","","","PCMA","PCMA"'
)


def parse(text: str) -> list[ParsedCall | RowError]:
    return list(parse_calls("freeswitch-csv", io.BytesIO(text.encode())))


def test_answered_a_leg() -> None:
    [call] = parse(ANSWERED)
    assert isinstance(call, ParsedCall)
    assert (call.caller_name, call.caller, call.callee) == ("Alice", "201", "4522334455")
    assert (call.source_id, call.linked_id) == (A, B)
    assert call.started_at.isoformat() == "2024-03-05T13:02:11+00:00"
    assert (call.duration_s, call.billsec_s, call.outcome) == (209, 201, "answered")
    assert call.dropped_fields == ("context", "accountcode", "read_codec", "write_codec")


def test_cancelled_call_was_not_answered() -> None:
    [call] = parse(CANCELLED)
    assert isinstance(call, ParsedCall)
    assert (call.answered_at, call.caller_name, call.outcome) == (None, None, "no_answer")


@pytest.mark.parametrize(
    ("cause", "outcome"),
    [("USER_BUSY", "busy"), ("NO_ANSWER", "no_answer"), ("NO_ROUTE_DESTINATION", "failed")],
)
def test_hangup_causes(cause: str, outcome: str) -> None:
    [call] = parse(CANCELLED.replace("ORIGINATOR_CANCEL", cause))
    assert isinstance(call, ParsedCall) and call.outcome == outcome


def test_an_answered_call_stays_answered_whatever_ended_it() -> None:
    [call] = parse(ANSWERED.replace("NORMAL_CLEARING", "MEDIA_TIMEOUT"))
    assert isinstance(call, ParsedCall) and call.outcome == "answered"


def test_default_template_with_its_stray_space() -> None:
    default = ANSWERED.removesuffix(',"PCMA","PCMA"').replace(',""', ', "acct"')
    [call] = parse(default)
    assert isinstance(call, ParsedCall) and call.dropped_fields == ("context", "accountcode")


def test_comma_in_unescaped_name_shifts_columns() -> None:
    [error] = parse(ANSWERED.replace('"Alice"', '"Al "The Boss", Smith"'))
    assert isinstance(error, RowError) and error.line == 1 and "columns" in error.reason


@pytest.mark.parametrize(
    ("old", "new", "reason"),
    [
        ('"209","201"', '"99999999999999999999999","201"', "duration must be between"),
        ('"2024-03-05 14:05:40"', '"2024-03-05 14:02:10"', "end is before start"),
        ('"2024-03-05 14:02:11"', '"2024-03-31 02:30:00"', "DST gap"),
    ],
)
def test_impossible_values_are_bad_rows(old: str, new: str, reason: str) -> None:
    [error] = parse(ANSWERED.replace(old, new))
    assert isinstance(error, RowError) and reason in error.reason and error.line == 1


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ((A, ""), (B, A)),  # legs=ab as FreeSWITCH writes it: the A-leg's bleg_uuid empty
        ((B, A), (A, "")),
        ((A, B), (B, A)),  # both rows carry the other's uuid
        ((B, A), (A, B)),
    ],
)
def test_legs_of_one_call_share_a_link(first: tuple[str, str], second: tuple[str, str]) -> None:
    rows = [ANSWERED.replace(f'"{A}","{B}"', f'"{u}","{b}"') for u, b in (first, second)]
    one, two = parse("\n".join(rows))
    assert isinstance(one, ParsedCall) and isinstance(two, ParsedCall)
    assert one.linked_id == two.linked_id is not None
    assert one.source_id != two.source_id


def test_a_b_leg_alone_is_keyed_by_its_a_leg() -> None:
    [call] = parse(ANSWERED.replace(f'"{A}","{B}"', f'"{B}","{A}"'))
    assert isinstance(call, ParsedCall) and call.linked_id == A
