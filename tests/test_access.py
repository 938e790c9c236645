"""Access and portability (Art. 15, 20) through `callvault dsr access`; sub-processors (Art. 28(2))."""

import csv
import io
import json
import stat
import zipfile
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, or_, select

from callvault import (
    CompiledPolicy,
    PolicyRefusal,
    Verification,
    default_policy,
    export_subject,
    give_consent,
    ingest_calls,
    ingest_voicemail,
    lint,
    records_of_processing,
    render_notice,
)
from callvault.accountability.audit import entries
from callvault.store.schema.core import calls, voicemails
from clihelp import run_cli
from conftest import SAMPLES_NOW
from factories import make_tenant
from ingesthelp import ASTERISK_CSV, setup_acme, stream
from spool import write_message

AUDIO = b"RIFF\x24\x00\x00\x00WAVEfmt the-exact-bytes-of-a-message"


@pytest.fixture
def ingested(vault, samples_clock, tmp_path):
    alice, _ = setup_acme(vault)
    ingest_calls(vault, "acme", stream(ASTERISK_CSV), format="asterisk-csv")
    root = tmp_path / "spool"
    write_message(root / "default" / "201" / "INBOX", "msg0000", mailbox="201",
                  callerid='"Carl Caller" <+4550505050>',
                  origtime=int((SAMPLES_NOW - timedelta(days=1)).timestamp()),
                  msg_id="1-1", audio_ext="wav", audio=AUDIO)  # fmt: skip
    assert ingest_voicemail(vault, "acme", root).stored == 1
    give_consent(vault, "acme", alice, "personalisation")
    return alice


def test_export_holds_what_was_ingested(vault, ingested, cli_env, capsys, tmp_path):
    out = tmp_path / "alice.zip"
    args = ["dsr", "access", "--tenant", "acme", "--subject", "alice@acme.dk", "--out", str(out)]
    result = run_cli(capsys, *args, "--json")
    assert result.code == 0, result.err
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    with zipfile.ZipFile(out) as zf:
        names = set(zf.namelist())
        doc = json.loads(zf.read("subject.json"))
        rows = list(csv.DictReader(io.StringIO(zf.read("calls.csv").decode())))
        audio = [zf.read(n) for n in names if n.startswith("voicemail/")]
        text = zf.read("subject.json") + zf.read("calls.csv")
    assert audio == [AUDIO]  # byte-identical to what was ingested
    assert doc["profile"]["email"] == ["alice@acme.dk"]
    assert doc["profile"]["name"] == ["Alice Andersen"]
    with vault.engine.connect() as conn:
        held = conn.scalar(select(func.count()).where(or_(
            calls.c.caller_subject_id == ingested, calls.c.callee_subject_id == ingested)))  # fmt: skip
    assert held and len(doc["calls"]) == len(rows) == held
    assert len(doc["voicemails"]) == 1 and len(doc["consents"]) == 1
    assert doc["consents"][0]["events"][0]["event"] == "given"
    # Other people as reads show them (Art. 15(4)): no caller's number, no caller's name.
    for other in (b"4540404040", b"4550505050", b"Carl Caller"):
        assert other not in text
    by_category = {c["category"]: c for c in doc["categories"]}
    history = by_category["user.behavior.call_history"]
    assert history["retention"]["kind"] == "call_record" and history["purposes"]
    assert history["sub_processors"][0]["name"] == "Nordic Hosting ApS"
    assert all(c["source"] and c["complaint"] for c in doc["categories"])
    assert [(r["type"], r["state"]) for r in doc["requests"]] == [("access", "in_progress")]
    listed = run_cli(capsys, "dsr", "list", "--json").json()["requests"]
    assert [(r["type"], r["state"]) for r in listed] == [("access", "completed")]
    with vault.engine.connect() as conn:
        audited = [e for e in entries(conn, "acme") if e["action"] == "subject.access"]
    assert [e["outcome"] for e in audited] == ["allow"]
    assert run_cli(capsys, *args).code == 5  # never over an existing file


def test_unverified_or_unbound_export_is_refused_and_writes_nothing(vault, ingested, tmp_path):
    out = tmp_path / "x.zip"
    with pytest.raises(PolicyRefusal):
        export_subject(vault, "acme", ingested, out, verification=None)
    with pytest.raises(PolicyRefusal):
        export_subject(vault, "acme", ingested, out, verification=Verification.operator(),
                       actor="service:crm")  # fmt: skip
    assert not out.exists() and not list(tmp_path.glob(".x.zip*"))
    with vault.engine.connect() as conn:
        audited = [e for e in entries(conn, "acme") if e["action"] == "subject.access"]
    assert [e["outcome"] for e in audited] == ["deny", "deny"]


def test_sub_processors_in_notice_record_and_lint(vault):
    policy = default_policy()
    assert "Nordic Hosting ApS" in render_notice(CompiledPolicy.compile(policy))
    make_tenant(vault)
    record = json.dumps(records_of_processing(vault, "acme"))
    assert '"sub_processors": [{"name": "Nordic Hosting ApS"' in record
    abroad = policy.model_copy(update={"sub_processors": [
        *policy.sub_processors,
        policy.sub_processors[0].model_copy(update={"country": "US", "safeguard": None}),
    ]})  # fmt: skip
    codes = [f.code for f in lint(abroad).warnings]
    assert codes.count("sub-processor-transfer") == 1
    assert "sub-processor-transfer" not in [f.code for f in lint(policy).warnings]


def test_the_notices_commands_exist(capsys):
    """The notice tells subjects to run `callvault dsr ...`: every command and option it names."""
    import re

    text = render_notice(CompiledPolicy.compile(default_policy()))
    commands = re.findall(r"`callvault (dsr [^`]+)`", text)
    assert {c.split()[1] for c in commands} >= {"access", "erase", "rectify", "restrict", "object"}
    for command in commands:
        words = command.split()
        help_text = run_cli(capsys, *words[:2], "--help").out
        for option in (w for w in words[2:] if w.startswith("--")):
            assert option in help_text, (command, option)


OWN = b"RIFF\x10\x00\x00\x00WAVE carl in alice's box"
LEFT_NEW = b"RIFF\x11\x00\x00\x00WAVE alice in bob's inbox"
LEFT_OLD = b"RIFF\x12\x00\x00\x00WAVE alice in bob's old folder"
NOT_HERS = b"RIFF\x13\x00\x00\x00WAVE carl in bob's box"
ALICE_CALLS = '"Alice" <+4522334455>'
CARL_CALLS = '"Carl Caller" <+4550505050>'


def _at(days: float) -> int:
    return int((SAMPLES_NOW - timedelta(days=days)).timestamp())


@pytest.fixture
def messages_left(vault, samples_clock, tmp_path):
    """Alice (201) has one message from Carl; she left two in Bob's (202) mailbox, one he has
    heard (folder Old); Carl left one for Bob too. Ingested from a spool on disk."""
    alice, bob = setup_acme(vault)
    ingest_calls(vault, "acme", stream(ASTERISK_CSV), format="asterisk-csv")
    root = tmp_path / "spool" / "default"
    write_message(root / "201" / "INBOX", "msg0000", mailbox="201", callerid=CARL_CALLS,
                  origtime=_at(1), msg_id="a-1", audio=OWN)  # fmt: skip
    write_message(root / "202" / "INBOX", "msg0000", mailbox="202", callerid=ALICE_CALLS,
                  origtime=_at(2), msg_id="b-1", audio=LEFT_NEW)  # fmt: skip
    write_message(root / "202" / "Old", "msg0000", mailbox="202", callerid=ALICE_CALLS,
                  origtime=_at(3), msg_id="b-2", audio=LEFT_OLD)  # fmt: skip
    write_message(root / "202" / "INBOX", "msg0001", mailbox="202", callerid=CARL_CALLS,
                  origtime=_at(4), msg_id="b-3", audio=NOT_HERS)  # fmt: skip
    assert ingest_voicemail(vault, "acme", root.parent).stored == 4
    return alice, bob


def _export(vault, alice, path, **kwargs):
    counts = export_subject(vault, "acme", alice, path, verification=Verification.operator(),
                            **kwargs)  # fmt: skip
    with zipfile.ZipFile(path) as zf:
        files = {n: zf.read(n) for n in zf.namelist()}
    return counts, json.loads(files.pop("subject.json")), files


def test_export_holds_the_messages_the_subject_left_as_caller(vault, messages_left, tmp_path):
    """Art. 15: the messages Alice left in Bob's mailbox are her voice: in her export, with their
    recordings byte-identical; Carl's message to Bob is not; Bob appears as reads show him."""
    alice, bob = messages_left
    counts, doc, files = _export(vault, alice, tmp_path / "alice.zip")
    v = voicemails.c
    with vault.engine.connect() as conn:
        held = {row.voicemail_id: row for row in conn.execute(select(v.voicemail_id, v.received_at,
                v.mailbox_subject_id, v.caller_subject_id))}  # fmt: skip
    left_ids = {vid for vid, r in held.items() if r.caller_subject_id == alice}
    own_ids = {vid for vid, r in held.items() if r.mailbox_subject_id == alice}
    assert len(left_ids) == 2 and len(own_ids) == 1 and len(held) == 4
    # Nothing more and nothing less: the three recordings that are hers, byte for byte.
    by_time = {r.received_at: vid for vid, r in held.items()}
    new, old = (
        by_time[datetime.fromtimestamp(_at(2), UTC)],
        by_time[datetime.fromtimestamp(_at(3), UTC)],
    )
    [own] = own_ids
    assert files == {
        "calls.csv": files["calls.csv"],
        f"voicemail/{own}.wav": OWN,
        f"voicemail_left/{new}.wav": LEFT_NEW,
        f"voicemail_left/{old}.wav": LEFT_OLD,
    }
    assert counts["voicemails"] == 1 and counts["voicemails_left"] == 2
    assert counts["audio_files"] == 3
    assert doc["voicemails_left"] == [
        {"voicemail_id": old, "received_at": datetime.fromtimestamp(_at(3), UTC).isoformat(),
         "duration_s": 12, "audio": f"voicemail_left/{old}.wav", "mailbox": "Bob Berg"},
        {"voicemail_id": new, "received_at": datetime.fromtimestamp(_at(2), UTC).isoformat(),
         "duration_s": 12, "audio": f"voicemail_left/{new}.wav", "mailbox": "Bob Berg"},
    ]  # fmt: skip
    assert [m["voicemail_id"] for m in doc["voicemails"]] == [own]
    # Bob's number, Carl's number and what Bob did with the message (its folder) stay out.
    text = json.dumps(doc).encode() + files["calls.csv"]
    for other in (b"4522334466", b"4550505050", b"Carl Caller", b'"Old"', bob.encode()):
        assert other not in text
    assert "folder" not in doc["voicemails_left"][0]


def test_messages_left_past_their_period_are_not_exported(vault, messages_left, tmp_path):
    """Art. 5(1)(e): at 40 days on, past the voicemail period (P30D), none of the messages is
    served, whether or not retention has run."""
    alice, _ = messages_left
    later = SAMPLES_NOW + timedelta(days=40)
    counts, doc, files = _export(vault, alice, tmp_path / "later.zip", at=later)
    assert doc["voicemails_left"] == [] and doc["voicemails"] == []
    assert set(files) == {"calls.csv"} and counts["audio_files"] == 0


def test_a_named_operator_that_vouched_itself_receives_nothing(vault, ingested, tmp_path):
    """The operator admin that recorded the identity check may not also receive the export; the
    controller's check, or the local operator acting on one made elsewhere, lets it through."""
    out = tmp_path / "x.zip"
    with pytest.raises(PolicyRefusal, match="vouched for by the operator"):
        export_subject(vault, "acme", ingested, out, actor="operator:ops",
                       verification=Verification("operator", "operator:ops"))  # fmt: skip
    assert not out.exists()
    with vault.engine.connect() as conn:
        denied = [e for e in entries(conn, "acme") if e["action"] == "subject.access"][-1]
    assert (denied["outcome"], denied["details"]["rule"]) == ("deny", "identity.self_vouched")
    export_subject(vault, "acme", ingested, out, actor="operator:ops",
                   verification=Verification("controller", "tenant-admin:hr"))  # fmt: skip
    assert out.exists()
    export_subject(
        vault, "acme", ingested, tmp_path / "y.zip", verification=Verification.operator()
    )
    assert (tmp_path / "y.zip").exists()
