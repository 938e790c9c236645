"""Asterisk cdr_csv Master.csv: the 16/18/19/21-column variants, as Asterisk writes them."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from callvault.collection.parsers.asterisk_csv import Clock
from callvault.collection.parsers.formats import parse_calls
from callvault.collection.parsers.records import ParsedCall, RowError

BASE = (
    '"","201","4522334455","from-internal","""Alice"" <201>","PJSIP/201-00000001",'
    '"PJSIP/trunk-00000002","Dial","PJSIP/4522334455@trunk,60","2024-03-05 14:02:11",'
    '"2024-03-05 14:02:19","2024-03-05 14:05:40",209,201,"ANSWERED","DOCUMENTATION"'
)
ANSWERED = BASE + ',"1709643731.1","","","1709643731.1",7'  # newcdrcolumns: 21 columns
# An inbound call rung to two queue members: two CDRs of one channel, one linkedid.
QUEUE = (
    '"","4522334455","300","from-external","""Bob"" <4522334455>","PJSIP/trunk-00000003",'
    '"PJSIP/301-00000004","Queue","support","2024-03-05 15:00:00","2024-03-05 15:00:05",'
    '"2024-03-05 15:02:05",125,120,"ANSWERED","DOCUMENTATION","1709647200.3","","",'
    '"1709647200.3",10\n'
    '"","4522334455","300","from-external","""Bob"" <4522334455>","PJSIP/trunk-00000003",'
    '"PJSIP/302-00000005","Queue","support","2024-03-05 15:00:00",,"2024-03-05 15:00:05",'
    '5,0,"NO ANSWER","DOCUMENTATION","1709647200.3","","","1709647200.3",11\n'
)


def parse(text: str, **options: object) -> list[ParsedCall | RowError]:
    return list(parse_calls("asterisk-csv", io.BytesIO(text.encode()), **options))  # type: ignore[arg-type]


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_answered_call() -> None:
    [call] = parse(ANSWERED + "\n")
    assert isinstance(call, ParsedCall)
    assert (call.line, call.caller, call.callee) == (1, "201", "4522334455")
    assert call.caller_name == "Alice"
    assert call.started_at == utc("2024-03-05 13:02:11")  # Copenhagen is UTC+1 in March
    assert call.answered_at == utc("2024-03-05 13:02:19")
    assert call.ended_at == utc("2024-03-05 13:05:40")
    assert (call.duration_s, call.billsec_s, call.outcome) == (209, 201, "answered")
    assert (call.source_id, call.linked_id) == ("1709643731.1#7", "1709643731.1")


def test_identifying_fields_are_dropped_by_name_only() -> None:
    [call] = parse(ANSWERED)
    assert isinstance(call, ParsedCall)
    assert {"clid", "channel", "dstchannel", "lastdata", "userfield"} <= set(call.dropped_fields)
    assert not any("PJSIP" in name or "Alice" in name for name in call.dropped_fields)


def test_unanswered_leg_and_legs_of_one_call() -> None:
    first, second = parse(QUEUE)
    assert isinstance(first, ParsedCall) and isinstance(second, ParsedCall)
    assert second.answered_at is None and second.outcome == "no_answer"
    assert first.linked_id == second.linked_id == "1709647200.3"
    assert first.source_id != second.source_id


@pytest.mark.parametrize(
    ("suffix", "source_id"),
    [
        ("", None),  # 16 columns: a digest of the row
        (',"1709643731.1","vip"', "1709643731.1#"),  # 18: uniqueid + digest
        (',"","1709643731.1",7', "1709643731.1#7"),  # 19: newcdrcolumns only
        (',"1709643731.1","","","1709643731.1",7', "1709643731.1#7"),  # 21
    ],
)
def test_column_variants(suffix: str, source_id: str | None) -> None:
    [call] = parse(BASE + suffix)
    assert isinstance(call, ParsedCall) and call.caller == "201"
    if source_id is None:
        assert len(call.source_id) == 32
    else:
        assert call.source_id.startswith(source_id)


def test_source_id_is_stable_across_reads() -> None:
    assert parse(BASE)[0] == parse(BASE + "\r\n")[0]


def test_seventeen_columns_are_ambiguous() -> None:
    [error] = parse(BASE + ',"1709643731.1"')
    assert isinstance(error, RowError) and "17 columns" in error.reason


def test_utc_and_other_zones() -> None:
    [in_utc] = parse(ANSWERED, utc=True)
    [in_ny] = parse(ANSWERED, tz="America/New_York")
    assert isinstance(in_utc, ParsedCall) and isinstance(in_ny, ParsedCall)
    assert in_utc.started_at == utc("2024-03-05 14:02:11")
    assert in_ny.started_at == utc("2024-03-05 19:02:11")


@pytest.mark.parametrize(
    ("local", "expected"),
    [
        ("2024-10-27 02:30:00", "2024-10-27 00:30:00"),  # autumn: the first (summer) 02:30
        ("2024-10-27 03:00:00", "2024-10-27 02:00:00"),
        ("2024-03-31 03:30:00", "2024-03-31 01:30:00"),  # spring: summer time from 03:00
        ("2024-03-31 01:59:59", "2024-03-31 00:59:59"),
    ],
)
def test_daylight_saving_hours(local: str, expected: str) -> None:
    [call] = parse(BASE.replace(_TIMES, f'"{local}",,'))  # start only: answer, end unset
    assert isinstance(call, ParsedCall) and call.started_at == utc(expected)


_TIMES = '"2024-03-05 14:02:11","2024-03-05 14:02:19","2024-03-05 14:05:40"'


def test_a_time_in_the_spring_dst_gap_is_a_bad_row() -> None:
    [error] = parse(BASE.replace(_TIMES, '"2024-03-31 02:30:00",,'))
    assert isinstance(error, RowError) and "DST gap" in error.reason and error.line == 1


@pytest.mark.parametrize(
    ("times", "durations", "reason"),
    [
        (_TIMES, "99999999999999999999999,201", "duration must be between 0 and 2678400"),
        (_TIMES, "209,2678401", "billsec must be between 0 and 2678400"),
        (_TIMES, "209,210", "billsec is longer than duration"),
        ('"2024-03-05 14:02:11",,"2024-03-05 14:02:10"', "209,201", "end is before start"),
        ('"2024-03-05 14:02:11","2024-03-05 14:02:10",', "209,201", "answer is outside"),
        ('"2024-03-05 14:02:11","2024-03-05 14:06:00","2024-03-05 14:05:40"', "209,201",
         "answer is outside"),
        ('"9999-03-05 14:02:11",,', "209,201", "more than a day in the future"),
    ],
)  # fmt: skip
def test_impossible_times_and_durations_are_bad_rows(times: str, durations: str, reason: str):
    [error] = parse(BASE.replace(_TIMES, times).replace("209,201", durations))
    assert isinstance(error, RowError) and reason in error.reason and error.line == 1


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        (BASE.replace("209,201", "-5,201"), "duration"),
        (BASE.replace("209,201", "2.5,201"), "duration"),
        (BASE.replace("209,201", "209,"), "billsec"),
        (BASE.replace('"2024-03-05 14:02:11"', '"05/03/2024 14:02"'), "start"),
        (BASE.replace('"2024-03-05 14:05:40"', '"2024-02-30 14:05:40"'), "end"),
        (BASE.replace('"ANSWERED"', '"MAYBE"'), "disposition"),
        ('"201","300"', "2 columns"),
    ],
)
def test_bad_row_names_its_line(bad: str, reason: str) -> None:
    good, error, last = parse(f"{ANSWERED}\n{bad}\n{ANSWERED}\n")
    assert isinstance(good, ParsedCall) and isinstance(last, ParsedCall) and last.line == 3
    assert isinstance(error, RowError) and error.line == 2 and reason in error.reason


def test_blank_lines_are_skipped_and_lines_still_counted() -> None:
    [call] = parse(f"\n\n{ANSWERED}\n")
    assert isinstance(call, ParsedCall) and call.line == 3


def test_a_stray_byte_in_a_dropped_column_rejects_nothing() -> None:
    """Issue 10: 0xA5 0xA5 in a caller name (clid, dropped anyway) rejected the whole file."""
    bad = ANSWERED.replace('"""Alice"" <201>"', '"""Al\xa5\xa5ce"" <201>"')
    data = (ANSWERED + "\n").encode() + bad.encode("latin-1") + b"\n" + ANSWERED.encode()
    rows = list(parse_calls("asterisk-csv", io.BytesIO(data)))
    assert [type(r) for r in rows] == [ParsedCall] * 3 and rows[1].line == 2


def test_a_stray_byte_in_a_kept_column_rejects_that_row_only() -> None:
    bad = ANSWERED.replace('"201"', '"2\xa501"', 1)
    data = (ANSWERED + "\n").encode() + bad.encode("latin-1") + b"\n" + ANSWERED.encode()
    good, error, last = parse_calls("asterisk-csv", io.BytesIO(data))
    assert isinstance(good, ParsedCall) and isinstance(last, ParsedCall)
    assert isinstance(error, RowError) and str(error) == "line 2: src is not UTF-8 text"


def test_a_stray_byte_in_a_row_of_no_known_layout_names_its_column() -> None:
    [error] = parse_calls("asterisk-csv", io.BytesIO(b'"201","\xa5"\n'))
    assert isinstance(error, RowError) and error.reason == "column 2 is not UTF-8 text"


class Counting(io.BytesIO):
    lines = 0

    def readline(self, size: int | None = -1) -> bytes:
        self.lines += 1
        return super().readline(size)


def test_streams_instead_of_reading_everything() -> None:
    stream = Counting((ANSWERED + "\n").encode() * 20_000)
    first = next(parse_calls("asterisk-csv", stream))
    assert isinstance(first, ParsedCall) and stream.lines < 5_000


ZONES = ["Europe/Copenhagen", "America/New_York", "Australia/Lord_Howe", "Asia/Kathmandu"]


@settings(deadline=None)
@given(st.datetimes(datetime(1900, 1, 1), datetime(2100, 1, 1)), st.sampled_from(ZONES))
def test_cached_clock_agrees_with_zoneinfo(local: datetime, tz: str) -> None:
    local = local.replace(microsecond=0)
    zone = ZoneInfo(tz)
    clock = Clock(zone)

    def exists(wall: datetime) -> bool:  # not in a spring-forward gap (Lord Howe's is 30 minutes)
        return (
            wall.replace(tzinfo=zone).astimezone(UTC).astimezone(zone).replace(tzinfo=None) == wall
        )

    hour = local.replace(minute=0, second=0)
    if exists(hour):
        clock.at(hour.strftime("%Y-%m-%d %H:%M:%S"), "start")  # fill the hour's cache first
    text = local.strftime("%Y-%m-%d %H:%M:%S")
    if not exists(local):  # a time that never happened has no instant: refused, never guessed
        with pytest.raises(ValueError, match="DST gap"):
            clock.at(text, "start")
        return
    assert clock.at(text, "start") == local.replace(tzinfo=zone).astimezone(UTC)
