"""Issue 10: real-world inputs. Each fixture is written in the format as its documentation shows it
(Asterisk cdr_csv and cdr_custom Master.csv, FreeSWITCH mod_cdr_csv's example template, a Graph
getPstnCalls page, an Asterisk voicemail spool), with values made up for the test."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from sqlalchemy import select

from callvault import InvalidInput, ingest_calls, ingest_subjects, ingest_voicemail
from callvault.store.schema.core import calls, voicemails
from factories import make_tenant, make_user
from ingesthelp import count, externals, setup_acme, stream
from spool import write_message


def _rows(vault):  # type: ignore[no-untyped-def]
    with vault.engine.connect() as conn:
        return conn.execute(select(calls).order_by(calls.c.started_at)).all()


# --- 1. one stray byte ---------------------------------------------------------------------------


def _master_csv(rows: int, clid_bytes: bytes = b"", src_bytes: bytes = b"", bad_line: int = 41):
    """cdr_csv's 16 default columns, one call a minute; line ``bad_line`` carries stray bytes."""
    lines = []
    for n in range(1, rows + 1):
        name = b"Caller " + (clid_bytes if n == bad_line else b"")
        src = b"2233" + (src_bytes if n == bad_line else b"") + b"%04d" % n
        minute = b"2026-11-02 %02d:%02d" % (8 + n // 60, n % 60)
        lines.append(
            b'"","' + src + b'","201","from-external","\\"' + name + b'\\" <' + src + b'>",'
            b'"PJSIP/trunk-0001","PJSIP/201-0002","Dial","PJSIP/201,30","' + minute + b':00",'
            b'"' + minute + b':05","' + minute + b':35",35,30,"ANSWERED","DOCUMENTATION"'
        )
    return b"\n".join(lines).replace(b'\\"', b'""') + b"\n"


def test_a_stray_byte_in_a_dropped_column_rejects_no_row(vault, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    setup_acme(vault)
    source = tmp_path / "Master.csv"
    source.write_bytes(_master_csv(84, clid_bytes=b"\xa5\xa5"))
    report = ingest_calls(vault, "acme", source, format="asterisk-csv")
    assert (report.stored, report.rejected) == (84, 0)
    assert report.dropped_fields["clid"] == 84


def test_a_stray_byte_in_a_kept_column_rejects_that_row_only(vault, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    setup_acme(vault)
    source = tmp_path / "Master.csv"
    source.write_bytes(_master_csv(84, src_bytes=b"\xa5"))
    with pytest.raises(InvalidInput, match="line 41: src is not UTF-8 text") as caught:
        ingest_calls(vault, "acme", source, format="asterisk-csv")
    assert caught.value.line == 41 and count(vault) == 0
    report = ingest_calls(vault, "acme", source, format="asterisk-csv", on_error="skip")
    assert (report.stored, report.rejected) == (83, 1)
    [reject] = [
        json.loads(line) for line in Path(str(report.rejects_path)).read_text().splitlines()
    ]
    assert reject == {"line": 41, "pointer": None, "reason": "src is not UTF-8 text"}


@pytest.mark.parametrize(
    ("fmt", "good", "dropped", "kept", "reason"),
    [
        (  # cdr_custom, the sample mapping: clid first
            "asterisk-custom",
            b'"""Alice"" <201>","201","4522334455","from-internal","PJSIP/201-01","PJSIP/t-02",'
            b'"Dial","PJSIP/t","2026-11-02 10:00:00","2026-11-02 10:00:08","2026-11-02 10:03:29",'
            b'"209","201","ANSWERED","DOCUMENTATION","","1762077600.1","",7',
            (b"Alice", b"Al\xa5ce"),
            (b'"4522334455"', b'"45223\xa534455"'),
            "line 2: dst is not UTF-8 text",
        ),
        (  # mod_cdr_csv, the example template
            "freeswitch-csv",
            b'"Alice","201","4522334455","default","2026-11-02 10:00:00","2026-11-02 10:00:08",'
            b'"2026-11-02 10:03:29","209","201","NORMAL_CLEARING",'
            b'"a1b2c3d4-0000-4000-8000-000000000001","","","PCMA","PCMA"',
            (b'"Alice"', b'"Al\xa5ce"'),
            (b'"NORMAL_CLEARING"', b'"NORMAL\xa5CLEARING"'),
            "line 2: hangup_cause is not UTF-8 text",
        ),
    ],
)
def test_stray_bytes_in_the_other_csv_formats(vault, fmt, good, dropped, kept, reason) -> None:  # type: ignore[no-untyped-def]
    setup_acme(vault)

    def renamed(line: bytes, n: int) -> bytes:
        return line.replace(b"1762077600.1", b"17620776%02d.1" % n).replace(b"-000000000001",
                                                                        b"-0000000000%02d" % n)  # fmt: skip

    text = b"\n".join([renamed(good, 1), renamed(good.replace(*dropped), 2)]) + b"\n"
    assert ingest_calls(vault, "acme", _bytes(text), format=fmt).stored == 2
    bad = b"\n".join([renamed(good, 3), renamed(good.replace(*kept), 4)]) + b"\n"
    with pytest.raises(InvalidInput) as caught:
        ingest_calls(vault, "acme", _bytes(bad), format=fmt)
    assert str(caught.value).startswith(reason)


def _bytes(data: bytes) -> io.BytesIO:
    return io.BytesIO(data)


def test_stray_bytes_in_a_directory_and_a_graph_page(vault) -> None:  # type: ignore[no-untyped-def]
    setup_acme(vault)
    directory = b"external_id,name,national_id\nu-7,Nina,12\xa534\nu-8,Ole,56\n"
    report = ingest_subjects(vault, "acme", _bytes(directory), format="csv")
    assert (report.stored, report.dropped_fields["other"]) == (2, 2)
    with pytest.raises(InvalidInput, match="line 2: name is not UTF-8 text"):
        ingest_subjects(vault, "acme", _bytes(b"external_id,name\nu-9,N\xa5na\n"), format="csv")
    row = {"id": "r-1", "callId": "c", "startDateTime": "2026-11-02T09:00:08Z", "duration": 3,
           "callType": "user_in", "callerNumber": "+4540404040", "calleeNumber": "+4522334455",
           "userDisplayName": "Alice \udca5"}  # fmt: skip
    page = json.dumps({"value": [row]}, ensure_ascii=False).encode("utf-8", "surrogateescape")
    assert ingest_calls(vault, "acme", _bytes(page), format="graph-pstn").stored == 1
    bad = page.replace(b"+4540404040", b"+45404\xa54040").replace(b"r-1", b"r-2")
    with pytest.raises(InvalidInput, match="/value/0/callerNumber: callerNumber is not UTF-8"):
        ingest_calls(vault, "acme", _bytes(bad), format="graph-pstn")


# --- 3. endpoints in the directory ---------------------------------------------------------------


def test_endpoints_column_in_jsonl_and_their_conflicts(vault) -> None:  # type: ignore[no-untyped-def]
    make_tenant(vault)
    users = (
        json.dumps({"external_id": "u-1", "name": "Ann", "endpoints": ["telefon-42", "client1"]})
        + "\n"
        + json.dumps({"external_id": "u-2", "name": "Bo", "endpoints": "client1"})
        + "\n"
    )
    with pytest.raises(InvalidInput, match="line 2: endpoint repeats line 1"):
        ingest_subjects(vault, "acme", stream(users), format="jsonl")
    report = ingest_subjects(vault, "acme", stream(users.splitlines()[0] + "\n"), format="jsonl")
    assert report.stored == 1
    again = ingest_subjects(vault, "acme", stream(users.splitlines()[0] + "\n"), format="jsonl")
    assert again.duplicates == 1  # several endpoint names read back as the same entry
    line = json.dumps({"id": "c", "start": "2026-11-02T10:00:00Z", "duration": 3,
                       "caller": "client1", "callee": "+4540404040", "outcome": "answered"})  # fmt: skip
    ingest_calls(vault, "acme", stream(line + "\n"), format="jsonl")
    [row] = _rows(vault)
    assert row.direction == "outbound" and externals(vault) == 1


# --- 4. FreeSWITCH legs ---------------------------------------------------------------------------

A, B, C = (f"{c}1b2c3d4-0000-4000-8000-00000000000{n}" for c, n in (("a", 1), ("b", 2), ("c", 3)))


def _leg(uuid: str, bleg: str, caller: str, callee: str, hour: int = 10) -> str:
    day = f"2026-11-02 {hour:02d}"
    return (
        f'"Alice","{caller}","{callee}","default","{day}:00:00","{day}:00:08","{day}:03:29",'
        f'"209","201","NORMAL_CLEARING","{uuid}","{bleg}","","PCMA","PCMA"\n'
    )


@pytest.mark.parametrize(
    "legs",
    [
        [_leg(A, "", "201", "+4540404040"), _leg(B, A, "201", "+4540404040")],  # A-leg bleg empty
        [_leg(B, A, "201", "+4540404040"), _leg(A, "", "201", "+4540404040")],  # B-leg first
        [_leg(A, B, "201", "+4540404040"), _leg(B, A, "201", "+4540404040")],  # both carry it
        [_leg(B, A, "201", "+4540404040"), _leg(A, B, "201", "+4540404040")],
    ],
)
def test_freeswitch_legs_ab_become_one_linked_call(vault, legs: list[str]) -> None:  # type: ignore[no-untyped-def]
    setup_acme(vault)
    other = _leg(C, "", "+4550505050", "201", hour=11)
    report = ingest_calls(vault, "acme", stream("".join(legs) + other), format="freeswitch-csv")
    assert report.stored == 3
    first, second, third = _rows(vault)
    assert first.linked_key == second.linked_key != third.linked_key
    assert first.linked_key is not None


def test_freeswitch_legs_b_alone_link_to_their_a_legs(vault) -> None:  # type: ignore[no-untyped-def]
    setup_acme(vault)
    ingest_calls(vault, "acme", stream(_leg(A, "", "201", "+4540404040")), format="freeswitch-csv")
    ingest_calls(vault, "acme", stream(_leg(B, A, "201", "+4540404040")), format="freeswitch-csv")
    first, second = _rows(vault)
    assert first.linked_key == second.linked_key is not None


# --- 5. voicemail contexts ----------------------------------------------------------------------


@pytest.fixture
def two_companies(tmp_path: Path) -> Path:
    """One PBX, two customer companies: mailbox 8001 in context default and in multitenant-1."""
    root = tmp_path / "voicemail"
    for context, msg_id in (("default", "1"), ("multitenant-1", "2")):
        write_message(root / context / "8001" / "INBOX", mailbox="8001", origtime=1793613731,
                      msg_id=f"1793613731-0000000{msg_id}", callerid='"Carl" <+4550505050>')  # fmt: skip
    write_message(
        root / "default" / "2" / "INBOX",
        mailbox="2",
        origtime=1793613731,
        msg_id="1793613731-00000003",
    )
    return root


def test_a_mailbox_of_another_context_is_never_this_tenants(
    vault, two_companies, samples_clock
) -> None:  # type: ignore[no-untyped-def]
    make_tenant(vault)
    eva = make_user(vault, name="Eva", email="eva@acme.dk", phone="+4522334477", extension="8001")
    two = make_user(vault, name="Tim", email="tim@acme.dk", phone="+4522334478", extension="2")
    report = ingest_voicemail(vault, "acme", two_companies)
    assert (report.stored, report.rejected) == (2, 0)  # default/8001 and default/2
    with vault.engine.connect() as conn:
        owners = sorted(conn.scalars(select(voicemails.c.mailbox_subject_id)))
    assert owners == sorted([eva, two])  # a single-digit mailbox has its owner too
    other = ingest_voicemail(vault, "acme", two_companies, context="multitenant-1")
    assert other.stored == 1  # only when that context is asked for, as this tenant's
    with pytest.raises(InvalidInput, match="no voicemail context"):
        ingest_voicemail(vault, "acme", two_companies, context="multitenant-2")


def test_cli_voicemail_context(vault, cli_env, capsys, two_companies, samples_clock) -> None:  # type: ignore[no-untyped-def]
    from clihelp import run_cli

    make_tenant(vault)
    make_user(vault, name="Eva", email="eva@acme.dk", phone="+4522334477", extension="8001")
    args = ["ingest", "voicemail", "--tenant", "acme", str(two_companies), "--json"]
    result = run_cli(capsys, *args, "--context", "multitenant-1")
    assert result.code == 0, result.err
    assert result.json()["stored"] == 1


# --- 6. Microsoft Graph direction -----------------------------------------------------------------

ROW = {"id": "9c4984c7-6c3c-427d-a30c-bd0b2eacee90", "callId": "1835317186_112562680@61.221.3.176",
       "userPrincipalName": "alice@acme.dk", "userDisplayName": "Alice Andersen",
       "startDateTime": "2026-11-02T09:00:08.2589935Z", "endDateTime": "2026-11-02T09:03:47Z",
       "duration": 219, "charge": 0.0, "callType": "user_in", "currency": "DKK",
       "calleeNumber": "+4522334455", "callerNumber": "+4540404040",
       "destinationContext": None, "destinationName": "Denmark"}  # fmt: skip


@pytest.mark.parametrize(
    ("change", "direction", "caller_is_alice"),
    [
        ({}, "inbound", False),  # the documented reading: callee is the Teams user
        ({"callType": "user_out", "callerNumber": "+4522334455", "calleeNumber": "+4540404040"},
         "outbound", True),
        ({"callType": "user_out_transfer", "callerNumber": "+4522334455",
          "calleeNumber": "+4540404040"}, "outbound", True),
        # the v1.0 text's reading (callerNumber = who received an inbound call): read back round
        ({"callerNumber": "+4522334455", "calleeNumber": "+4540404040"}, "inbound", False),
        ({"callType": "user_out", "callerNumber": "+4540404040", "calleeNumber": "+4522334455"},
         "outbound", True),
    ],
)  # fmt: skip
def test_graph_direction_follows_call_type_and_directory(vault, change, direction, caller_is_alice):  # type: ignore[no-untyped-def]
    alice, _ = setup_acme(vault)
    page = json.dumps({"value": [ROW | change]})
    ingest_calls(vault, "acme", stream(page), format="graph-pstn")
    [row] = _rows(vault)
    assert row.direction == direction
    assert (row.caller_subject_id == alice) is caller_is_alice
    assert (row.callee_subject_id == alice) is not caller_is_alice
