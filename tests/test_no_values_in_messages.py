"""Issue 12, item 6: errors name the line and the field, never the value.

Every parser is fed rows whose bad values are e-mail addresses, telephone numbers and names (and
sources whose unknown field names are such values). None of them may appear in any message, in the
rejects file or in the audit log: all three outlive the source file and are read by people who
have no business seeing them.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from callvault import InvalidInput, ingest_calls, ingest_subjects, ingest_voicemail
from callvault.accountability.audit import entries
from callvault.cli.demo_data import MESSAGE_TXT
from callvault.collection.parsers.formats import parse_calls
from callvault.collection.parsers.records import RowError
from ingesthelp import setup_acme

BAD = ["bob.private@gmail.com", "+4522110000", "Bob Privatesen", "89161234567"]
#: what may not appear: each value and its distinctive parts
TRACES = ["bob.private", "gmail", "22110000", "Privatesen", "9161234567"]

# --- one good row per format, as field lists ----------------------------------------------------
ASTERISK = ["", "201", "4522334455", "from-internal", '"Alice" <201>', "PJSIP/201-01", "PJSIP/t-02",
            "Dial", "PJSIP/t", "2026-11-02 10:00:00", "2026-11-02 10:00:08", "2026-11-02 10:03:29",
            "209", "201", "ANSWERED", "DOCUMENTATION"]  # fmt: skip
ASTERISK_CHECKED = {9: "start", 10: "answer", 11: "end", 12: "duration", 13: "billsec",
                    14: "disposition"}  # fmt: skip
CUSTOM = ['"Alice" <201>', "201", "4522334455", "from-internal", "PJSIP/201-01", "PJSIP/t-02",
          "Dial", "PJSIP/t", "2026-11-02 10:00:00", "2026-11-02 10:00:08", "2026-11-02 10:03:29",
          "209", "201", "ANSWERED", "DOCUMENTATION", "", "1762077600.1", "", "7"]  # fmt: skip
CUSTOM_CHECKED = {8: "start", 9: "answer", 10: "end", 11: "duration", 12: "billsec",
                  13: "disposition"}  # fmt: skip
FREESWITCH = ["Alice", "201", "4522334455", "default", "2026-11-02 10:00:00",
              "2026-11-02 10:00:08", "2026-11-02 10:03:29", "209", "201", "NORMAL_CLEARING",
              "a1b2c3d4-0000-4000-8000-000000000001", "", "", "PCMA", "PCMA"]  # fmt: skip
FREESWITCH_CHECKED = {4: "start_stamp", 5: "answer_stamp", 6: "end_stamp", 7: "duration",
                      8: "billsec"}  # fmt: skip
JSONL = {"id": "c-1", "start": "2026-11-02T10:00:00+01:00", "answer": "2026-11-02T10:00:08+01:00",
         "end": "2026-11-02T10:03:29+01:00", "duration": 209, "billsec": 201, "caller": "201",
         "callee": "202", "outcome": "answered"}  # fmt: skip
GRAPH = {"id": "9c4984c7-6c3c-427d-a30c-bd0b2eacee90", "callId": "1835317186_112562680@61.221.3.176",
         "startDateTime": "2026-11-02T09:00:08Z", "endDateTime": "2026-11-02T09:03:47Z",
         "duration": 219, "callType": "user_in", "calleeNumber": "+4522334455",
         "callerNumber": "+4540404040"}  # fmt: skip


def _csv(rows: list[list[str]]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue()


def call_sources() -> Iterator[tuple[str, str]]:
    """(format, text): each format with each bad value in each field it checks."""
    for fmt, good, checked in (
        ("asterisk-csv", ASTERISK, ASTERISK_CHECKED),
        ("asterisk-custom", CUSTOM, CUSTOM_CHECKED),
        ("freeswitch-csv", FREESWITCH, FREESWITCH_CHECKED),
    ):
        rows = [good]
        for index in checked:
            for value in BAD:
                rows.append([value if i == index else v for i, v in enumerate(good)])
        rows += [[*good, value] for value in BAD]  # a column too many
        yield fmt, _csv(rows)
    lines = [json.dumps(JSONL)]
    for key in ("id", "start", "answer", "end", "duration", "billsec", "outcome", "caller"):
        for value in BAD:
            lines.append(json.dumps(JSONL | {key: value if key != "caller" else [value]}))
    lines += [json.dumps(JSONL | {"id": f"x-{n}", value: value}) for n, value in enumerate(BAD)]
    lines += [value for value in BAD]  # not JSON at all
    yield "jsonl", "\n".join(lines) + "\n"
    rows = [GRAPH]
    for key in ("startDateTime", "endDateTime", "duration", "callerNumber", "id"):
        for value in BAD:
            rows.append(GRAPH | {key: value if key != "callerNumber" else [value]})
    rows += [GRAPH | {"id": f"x-{n}", value: value} for n, value in enumerate(BAD)]
    rows += list(BAD)  # rows that are no objects
    yield "graph-pstn", json.dumps({"value": rows})


DIRECTORY_CSV = (
    "external_id,name,email,phone,extension,endpoints,offboarded_at,"
    + ",".join(BAD)  # unknown columns named by values
    + "\n"
    + "".join(
        f"u-{n},Ann,{email},{phone},{ext},{endpoint},{when},1,2,3,4\n"
        for n, (email, phone, ext, endpoint, when) in enumerate(
            [(v, "+4522334400", "301", "e1", "") for v in BAD]
            + [(f"a{n}@acme.dk", v, "302", "e2", "") for n, v in enumerate(BAD)]
            + [(f"b{n}@acme.dk", "", v, "e3", "") for n, v in enumerate(BAD)]
            + [
                (f"c{n}@acme.dk", "", "", v.replace(" ", "") + " x y", "")
                for n, v in enumerate(BAD)
            ]
            + [(f"d{n}@acme.dk", "", "", "", v) for n, v in enumerate(BAD)]
        )
    )
)
DIRECTORY_JSONL = "".join(
    json.dumps({"external_id": f"j-{n}", value: "x", "email": value}) + "\n"
    for n, value in enumerate(BAD)
)


def _clean(text: str) -> None:
    for trace in TRACES:
        assert trace not in text, trace


@pytest.mark.parametrize(("fmt", "text"), list(call_sources()), ids=lambda v: v[:12])
def test_parsers_never_quote_a_value(fmt: str, text: str) -> None:
    items = list(parse_calls(fmt, io.BytesIO(text.encode())))
    errors = [item for item in items if isinstance(item, RowError)]
    assert len(errors) >= len(BAD) * 3
    for error in errors:
        _clean(str(error))
    for item in items:
        if not isinstance(item, RowError):
            _clean(" ".join(item.dropped_fields))


def _audit(vault) -> str:  # type: ignore[no-untyped-def]
    with vault.engine.connect() as conn:
        return json.dumps(list(entries(conn, "acme", limit=1000)), default=str)


@pytest.mark.parametrize(("fmt", "text"), list(call_sources()), ids=lambda v: v[:12])
def test_ingest_never_quotes_a_value(vault, tmp_path: Path, fmt: str, text: str) -> None:  # type: ignore[no-untyped-def]
    setup_acme(vault)
    source = tmp_path / "calls"
    source.write_text(text)
    with pytest.raises(InvalidInput) as caught:
        ingest_calls(vault, "acme", source, format=fmt)
    _clean(str(caught.value))
    report = ingest_calls(vault, "acme", source, format=fmt, on_error="skip")
    assert report.rejected >= len(BAD) * 3
    _clean(Path(str(report.rejects_path)).read_text())
    _clean(json.dumps(report.as_dict()))
    _clean(_audit(vault))


def test_directory_ingest_never_quotes_a_value(vault, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    setup_acme(vault)
    for name, text in (("users.csv", DIRECTORY_CSV), ("users.jsonl", DIRECTORY_JSONL)):
        source = tmp_path / name
        source.write_text(text)
        with pytest.raises(InvalidInput) as caught:
            ingest_subjects(vault, "acme", source)
        _clean(str(caught.value))
        report = ingest_subjects(vault, "acme", source, on_error="skip")
        assert report.rejected >= len(BAD)
        _clean(Path(str(report.rejects_path)).read_text())
        _clean(json.dumps(report.as_dict()))
    _clean(_audit(vault))


def test_voicemail_ingest_never_quotes_a_value(vault, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    setup_acme(vault)
    box = tmp_path / "spool" / "default" / "201" / "INBOX"
    box.mkdir(parents=True)
    good = {"mailbox": "201", "callerid": '"Carl" <+4550505050>', "origdate": "x",
            "origtime": 1793613731, "msg_id": "1793613731-00000001"}  # fmt: skip
    n = 0
    for key in ("origtime", "msg_id"):
        for value in BAD:
            values = (good | {key: value, "msg_id": f"m-{n}"} if key != "msg_id"
                      else good | {"msg_id": value})  # fmt: skip
            text = MESSAGE_TXT.format(**values, duration=value)
            (box / f"msg{n:04d}.txt").write_text(text)
            (box / f"msg{n:04d}.wav").write_bytes(b"RIFF")
            n += 1
    with pytest.raises(InvalidInput) as caught:
        ingest_voicemail(vault, "acme", tmp_path / "spool")
    _clean(str(caught.value))
    rejects = tmp_path / "vm.rejects"
    report = ingest_voicemail(vault, "acme", tmp_path / "spool", on_error="skip", rejects=rejects)
    assert report.rejected == n
    _clean(rejects.read_text())
    _clean(_audit(vault))
