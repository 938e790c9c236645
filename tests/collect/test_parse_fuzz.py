"""Parsers never crash: any input gives records, RowErrors, or InvalidInput naming where."""

from __future__ import annotations

import csv
import io
import json
import tempfile
from datetime import UTC
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from callvault.collection.parsers.formats import PARSERS, parse_calls
from callvault.collection.parsers.records import (
    MAX_SECONDS,
    OUTCOMES,
    ParsedCall,
    ParsedVoicemail,
    RowError,
)
from callvault.collection.parsers.voicemail_spool import parse_spool
from callvault.errors import InvalidInput

FORMATS = st.sampled_from(sorted(PARSERS))
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)
# Values that look like the real thing often enough to reach past the first check.
SAMPLE_FIELDS = ["", "201", "ANSWERED", "NO ANSWER", "2024-10-27 02:30:00", "2024-03-05 14:02:11",
                 "12", "-1", "2024-03-31 02:30:00", "9999-12-31 23:59:59"]  # fmt: skip
FIELD = (
    st.sampled_from(SAMPLE_FIELDS)
    | st.text(max_size=12)
    | st.integers(min_value=0).map(str)  # arbitrarily large: must never overflow a column
)
KEYS = st.sampled_from(["id", "start", "duration", "caller", "callee", "outcome", "answer"])
CALL_VALUES = (
    st.sampled_from(
        ["2024-03-05T14:02:11Z", "9999-12-31T23:59:59Z", "answered", 5, -5, None, "x", True]
    )
    | st.integers()
)


def check(format: str, data: bytes) -> None:
    try:
        for item in parse_calls(format, io.BytesIO(data)):
            assert isinstance(item, ParsedCall | RowError)
            if isinstance(item, ParsedCall):
                assert item.started_at.tzinfo is UTC and item.outcome in OUTCOMES
                assert 0 <= item.billsec_s <= item.duration_s <= MAX_SECONDS
                assert item.ended_at is None or item.ended_at >= item.started_at
            else:
                assert item.line is not None or item.pointer is not None
    except InvalidInput as exc:
        assert exc.line is not None or exc.pointer is not None


def csv_text(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue().encode()


@settings(deadline=None)  # the first example pays for imports and zone data
@given(FORMATS, st.binary(max_size=400))
def test_arbitrary_bytes(format: str, data: bytes) -> None:
    check(format, data)


@settings(deadline=None)
@given(FORMATS, st.lists(st.lists(FIELD, min_size=12, max_size=22), max_size=4))
def test_arbitrary_csv_rows(format: str, rows: list[list[str]]) -> None:
    check(format, csv_text(rows))


@settings(deadline=None)
@given(FORMATS, st.lists(st.dictionaries(KEYS, CALL_VALUES) | JSON, max_size=4))
def test_arbitrary_json(format: str, rows: list[Any]) -> None:
    check(format, "\n".join(map(json.dumps, rows)).encode())
    check(format, json.dumps({"value": rows}).encode())


@settings(max_examples=50, deadline=None)  # file system work: slow, and slower under load
@given(st.binary(max_size=300))
def test_arbitrary_voicemail_files(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as root:
        folder = Path(root, "default", "201", "INBOX")
        folder.mkdir(parents=True)
        (folder / "msg0000.txt").write_bytes(data)
        (folder / "msg0000.wav").write_bytes(b"RIFF")
        [item] = parse_spool(Path(root))
        assert isinstance(item, ParsedVoicemail | RowError)
