"""Storage limitation at read time (issue 12, item 5; GDPR Art. 5(1)(e)), on both databases.

A record past its period is never served, whether or not retention has run, and a record that arrives
already past it is kept only as what retention keeps of it, counted as ``expired_on_arrival``.
"""

import json
import os
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, insert, select

from callvault.accountability.audit import entries
from callvault.collection.ingest.calls import ingest_calls
from callvault.collection.ingest.voicemail import ingest_voicemail
from callvault.consent.acts import give_consent
from callvault.processing.billing import read_billing
from callvault.processing.reads import read_subject
from callvault.rights.disclosure import disclose
from callvault.store.schema.core import voicemails
from callvault.store.schema.retention import billing_records
from callvault.store.schema.statistics import call_statistics
from callvault.subjects.directory import new_id
from clihelp import run_cli
from factories import make_call, make_external, make_tenant, make_user, make_voicemail
from ingesthelp import count, externals, setup_acme, stream
from spool import write_message

NOW = datetime.now(UTC).replace(microsecond=0)
OLD = NOW - timedelta(days=700)  # 23 months: past call records (P90D), within billing (P5Y)
RECENT = NOW - timedelta(days=2)


def _consented_alice(vault, **tenant):
    make_tenant(vault, **tenant)
    alice = make_user(vault)
    give_consent(vault, "acme", alice, "personalisation", actor=f"subject:{alice}")
    return alice


def test_read_serves_no_call_or_voicemail_past_its_period(vault):
    alice = _consented_alice(vault)
    caller = make_external(vault)
    for started in (OLD, RECENT):
        make_call(vault, caller_id=caller, callee_id=alice, started_at=started)
    for received in (NOW - timedelta(days=40), RECENT):  # voicemail: P30D
        make_voicemail(vault, mailbox_id=alice, caller_id=caller, received_at=received)
    data = read_subject(vault, "acme", alice, "personalisation", "app")  # retention never ran
    assert [c["started_at"] for c in data["calls"]] == [RECENT.isoformat()]
    assert [v["received_at"] for v in data["voicemails"]] == [RECENT.isoformat()]
    assert data["frequent_contacts"][0]["calls"] == 1


def test_read_asks_the_tenants_shortened_rule(vault):
    alice = _consented_alice(vault, retention={"call_record": "P30D"})
    make_call(vault, caller_id=None, callee_id=alice, started_at=NOW - timedelta(days=40))
    assert read_subject(vault, "acme", alice, "personalisation", "app")["calls"] == []


def test_disclosure_holds_nothing_past_its_period(vault, tmp_path):
    alice = _consented_alice(vault)
    make_call(vault, caller_id=None, callee_id=alice, started_at=OLD)
    make_call(vault, caller_id=None, callee_id=alice, started_at=RECENT)
    out = tmp_path / "export.json"
    disclose(vault, "acme", alice, "subject", out, actor=f"subject:{alice}")
    document = json.loads(out.read_text())
    assert [c["started_at"] for c in document["calls"]] == [RECENT.isoformat()]


def test_billing_read_serves_no_record_past_its_legal_period(vault):
    make_tenant(vault)
    payer = make_user(vault)
    days = {"old": date.today() - timedelta(days=6 * 366), "recent": RECENT.date()}  # P5Y
    rows = [
        {"tenant_id": "acme", "record_id": new_id(), "call_date": day, "billsec_s": 55,
         "payer_subject_id": payer, "created_at": NOW}
        for day in days.values()
    ]  # fmt: skip
    with vault.transaction() as conn:
        conn.execute(insert(billing_records), rows)
    read = read_billing(vault, "acme", "bookkeeping", actor="accountant")
    assert [r["call_date"] for r in read] == [days["recent"].isoformat()]


def _jsonl(started: datetime, source_id: str = "c-old") -> str:
    end = started + timedelta(seconds=65)
    return json.dumps({
        "id": source_id, "start": started.isoformat(), "answer": started.isoformat(),
        "end": end.isoformat(), "duration": 65, "billsec": 60, "caller": "201",
        "callee": "+4540404040", "outcome": "answered",
    }) + "\n"  # fmt: skip


def test_call_arriving_past_its_period_keeps_only_statistics_and_billing(vault):
    alice, _ = setup_acme(vault)
    give_consent(vault, "acme", alice, "personalisation", actor=f"subject:{alice}")
    source = _jsonl(OLD) + _jsonl(RECENT, "c-new")
    report = ingest_calls(vault, "acme", stream(source), format="jsonl")
    assert (report.stored, report.expired_on_arrival) == (1, 1)
    assert count(vault) == 1  # the old call is no event row
    calls = read_subject(vault, "acme", alice, "personalisation", "app")["calls"]
    assert [c["started_at"] for c in calls] == [RECENT.isoformat()]
    with vault.engine.connect() as conn:
        billed = conn.execute(
            select(billing_records.c.call_date, billing_records.c.billsec_s)
        ).all()
        kept = conn.scalar(select(func.sum(call_statistics.c.calls)))
        audit = next(entries(conn, "acme", action="collect.calls"))
    assert billed == [(OLD.date(), 60)]
    assert kept is None  # one person's hour: its cell is below k, so not even statistics keep it
    assert audit["details"]["expired_on_arrival"] == 1 and audit["details"]["stored"] == 1


@pytest.mark.xfail(strict=True, reason="known defect: a call no longer held leaves no source key")
def test_a_call_expired_on_arrival_is_not_taken_twice(vault):
    """Ingested again, a call kept only as statistics and billing must not be counted again.
    Known defect (README): its event row is gone, and its source key with it, so the second
    ingest takes it as new and bills it a second time. Remove the mark once keys outlive calls."""
    setup_acme(vault)
    ingest_calls(vault, "acme", stream(_jsonl(OLD)), format="jsonl")
    again = ingest_calls(vault, "acme", stream(_jsonl(OLD)), format="jsonl")
    with vault.engine.connect() as conn:
        billed = conn.scalar(select(func.count()).select_from(billing_records))
    assert (again.expired_on_arrival, again.duplicates, billed) == (0, 1, 1)


def test_only_expired_calls_leave_no_external_behind(vault):
    setup_acme(vault)
    report = ingest_calls(vault, "acme", stream(_jsonl(OLD)), format="jsonl")
    assert (report.stored, report.expired_on_arrival) == (0, 1)
    assert count(vault) == 0 and externals(vault) == 0  # the caller's number is not kept


def test_cli_counts_expired_on_arrival(vault, cli_env, capsys):
    setup_acme(vault)
    (cli_env / "old.jsonl").write_text(_jsonl(OLD))
    result = run_cli(capsys, "ingest", "calls", "--tenant", "acme", "--format", "jsonl",
                     "old.jsonl", "--json")  # fmt: skip
    assert result.code == 0, result.err
    assert result.json()["expired_on_arrival"] == 1 and result.json()["stored"] == 0


def test_voicemail_arriving_past_its_period_is_not_stored(vault, tmp_path):
    setup_acme(vault)
    box = tmp_path / "spool" / "default" / "201" / "INBOX"
    times = {"msg0000": NOW - timedelta(days=40), "msg0001": RECENT}  # voicemail: P30D
    for stem, at in times.items():
        write_message(box, stem, callerid="<+4550505050>", origtime=int(at.timestamp()),
                      msg_id=f"{stem}-{os.getpid()}")  # fmt: skip
    report = ingest_voicemail(vault, "acme", tmp_path / "spool")
    assert (report.stored, report.expired_on_arrival) == (1, 1)
    with vault.engine.connect() as conn:
        held = conn.scalars(select(voicemails.c.received_at)).all()
    assert held == [RECENT]


def test_an_error_while_reducing_arrivals_is_the_error_raised(vault):
    """A failure inside the arrivals' temporary table (here two identical ids) surfaces as itself:
    on PostgreSQL a DROP in the aborted transaction used to hide it behind InFailedSqlTransaction.
    The table goes with the rolled-back transaction, so the next ingest finds none."""
    import sqlalchemy.exc

    from callvault.retention.arrival import calls_expired_on_arrival

    make_tenant(vault)
    at = datetime.now(UTC)
    with pytest.raises(sqlalchemy.exc.IntegrityError) as failed, vault.transaction() as conn:
        calls_expired_on_arrival(vault, conn, "acme", ["a" * 32, "a" * 32], at)
    assert "InFailedSqlTransaction" not in str(failed.value)
    with vault.transaction() as conn:
        done = calls_expired_on_arrival(vault, conn, "acme", ["b" * 32], at)
    assert done["anonymised"] == 0


def test_retention_prunes_the_sign_in_rows_nobody_came_back_for(vault, monkeypatch):
    """Codes, entry attempts and expired sessions hold keyed hashes of addresses (personal data):
    a tenant nobody signs in to again keeps none of them past retention (Art. 5(1)(e))."""
    from callvault import SignInCodes, WebSessions, run_retention
    from callvault.store.schema.web import sign_in_attempts, sign_in_codes, web_sessions
    from callvault.subjects import codes, sessions

    alice, _ = setup_acme(vault)
    earlier = datetime.now(UTC) - timedelta(hours=2)
    monkeypatch.setattr(codes, "utcnow", lambda: earlier)
    monkeypatch.setattr(sessions, "utcnow", lambda: earlier)
    signing_in = SignInCodes(vault)
    assert signing_in.issue("acme", "alice@acme.dk", client="198.51.100.7") is not None
    assert signing_in.issue("acme", "nobody@acme.dk") is None  # a decoy row all the same
    with pytest.raises(Exception, match="wrong"):
        signing_in.redeem("acme", "alice@acme.dk", "000000x", client="198.51.100.7")
    WebSessions(vault).store("sid", "acme", "subject", alice, {}, earlier + timedelta(minutes=30))
    monkeypatch.setattr(codes, "utcnow", lambda: datetime.now(UTC))
    monkeypatch.setattr(sessions, "utcnow", lambda: datetime.now(UTC))

    def held() -> list[int]:
        with vault.engine.connect() as conn:
            return [conn.scalar(select(func.count()).select_from(t).where(t.c.tenant_id == "acme"))
                    for t in (sign_in_codes, sign_in_attempts, web_sessions)]  # fmt: skip

    assert held() == [2, 1, 1]
    run_retention(vault, tenant="acme")
    assert held() == [0, 0, 0]
    with vault.engine.connect() as conn:
        entry = next(iter(entries(conn, "acme", action="retention.run")))
    assert entry["details"]["sign_in_rows_deleted"] == 4
