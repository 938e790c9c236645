"""The format registry and the shared record helpers."""

from __future__ import annotations

import dataclasses
import io
from datetime import UTC, datetime

import pytest

from callvault.collection.parsers.formats import PARSERS, parse_calls
from callvault.collection.parsers.records import ParsedCall, RowError, caller_id, new_call
from callvault.errors import UsageError


def test_registry_names() -> None:
    names = {
        "asterisk-csv",
        "asterisk-custom",
        "freeswitch-csv",
        "graph-pstn",
        "jsonl",
        "kamailio-acc",
    }
    assert set(PARSERS) == names


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("opensips-acc", io.BytesIO()), "unknown call format"),
        (("jsonl", io.StringIO()), "binary mode"),
    ],
)
def test_usage_errors(args: tuple[str, io.IOBase], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        parse_calls(*args)  # type: ignore[arg-type]


def test_unknown_time_zone() -> None:
    with pytest.raises(UsageError, match="time zone"):
        parse_calls("asterisk-csv", io.BytesIO(), tz="Europe/Atlantis")


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ('"Alice" <201>', ("Alice", "201")),
        ('"Al "Boss" Smith" <201>', ('Al "Boss" Smith', "201")),
        ("Alice <+4522334455>", ("Alice", "+4522334455")),
        ("201", (None, "201")),
        ("Alice", ("Alice", None)),
        ('"" <201>', (None, "201")),
        ("", (None, None)),
    ],
)
def test_caller_id(text: str, parts: tuple[str | None, str | None]) -> None:
    assert caller_id(text) == parts


def test_new_call_is_a_frozen_parsed_call() -> None:
    now = datetime.now(UTC)
    fields = (1, "id", None, now, None, None, 3, 0, "201", "300", None, "no_answer", ())
    call = new_call(*fields)
    assert type(call) is ParsedCall and call == ParsedCall(*fields)
    with pytest.raises(dataclasses.FrozenInstanceError):
        call.caller = "202"  # type: ignore[misc]


def test_row_error_reads_as_a_message() -> None:
    assert str(RowError(4, None, "bad")) == "line 4: bad"
    assert str(RowError(None, "/value/3/duration", "bad")) == "/value/3/duration: bad"
