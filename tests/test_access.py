"""Access and portability (Art. 15, 20) through `callvault dsr access`; sub-processors (Art. 28(2))."""

import csv
import io
import json
import stat
import zipfile
from datetime import timedelta

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
from callvault.store.schema.core import calls
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
