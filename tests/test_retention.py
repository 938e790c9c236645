"""Retention: expired records become statistics or disappear, with evidence, on both databases."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from callvault.accountability import audit
from callvault.clock import parse_instant
from callvault.errors import NotFound, PolicyRefusal
from callvault.processing.billing import read_billing
from callvault.processing.statistics import statistics
from callvault.retention.run import run_retention
from callvault.retention.status import retention_status
from callvault.store.audit_chain import OPERATOR
from callvault.store.schema.core import calls, metadata, subjects, voicemails
from callvault.store.schema.retention import billing_records
from callvault.store.schema.statistics import call_statistics
from callvault.subjects.directory import find_subject
from callvault.vault import Vault
from factories import (
    make_call,
    make_calls_bulk,
    make_external,
    make_offboarded,
    make_tenant,
    make_user,
    make_users,
    make_voicemail,
)
from spool import write_message

AS_OF = parse_instant("2027-01-01", field="as_of")
OLD = "2026-06-01T09:15:00+00:00"  # past every period at AS_OF (90 d calls, 30 d voicemail)
NEW = "2026-12-20T10:00:00+00:00"  # within them

GONE = {  # identifiers of people whose every record expires
    "phone": "+4531415926",
    "vm_phone": "+4526535897",
    "name": "Bodil Brandt",
    "email": "bodil@acme.dk",
    "user_phone": "+4561617283",
    "extension": "480317",
}


def count(vault: Vault, table, *where) -> int:  # type: ignore[no-untyped-def]
    with vault.engine.connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(table).where(*where)) or 0)


def stats_total(vault: Vault) -> int:
    with vault.engine.connect() as conn:
        return int(conn.scalar(select(func.coalesce(func.sum(call_statistics.c.calls), 0))))


def dump_bytes(vault: Vault) -> bytes:
    """The raw database as stored: the SQLite file (+ WAL) or a pg_dump of the data."""
    url = vault.engine.url
    if url.get_backend_name() == "sqlite":
        path = Path(str(url.database))
        parts = [path, path.with_name(path.name + "-wal")]
        return b"".join(p.read_bytes() for p in parts if p.exists())
    plain = make_url(url.render_as_string(hide_password=False)).set(drivername="postgresql")
    return subprocess.run(
        ["pg_dump", "--data-only", plain.render_as_string(hide_password=False)],
        check=True,
        capture_output=True,
    ).stdout


def table_text(vault: Vault) -> str:
    with vault.engine.connect() as conn:
        return "\n".join(
            repr(row) for table in metadata.sorted_tables for row in conn.execute(select(table))
        )


@pytest.fixture
def world(vault: Vault) -> dict[str, str]:
    """One tenant with a leaver, a staying user, an expiring and a staying external caller."""
    make_tenant(vault, "acme")
    leaver = make_user(
        vault,
        name=GONE["name"],
        email=GONE["email"],
        phone=GONE["user_phone"],
        extension=GONE["extension"],
    )
    stayer = make_user(vault, name="Carl Clausen", email="carl@acme.dk", phone="+4570121416")
    old_ext = make_external(vault, phone=GONE["phone"])
    vm_ext = make_external(vault, phone=GONE["vm_phone"])
    kept_ext = make_external(vault, phone="+4527182818")
    make_offboarded(vault, "acme", leaver, "2026-10-01T00:00:00+00:00")
    ids = {"leaver": leaver, "stayer": stayer, "old_ext": old_ext, "vm_ext": vm_ext}
    ids["kept_ext"] = kept_ext
    ids["old_calls"] = " ".join(
        [
            make_call(vault, caller_id=old_ext, callee_id=leaver, started_at=OLD),
            make_call(
                vault, caller_id=leaver, callee_id=old_ext, started_at=OLD, direction="outbound"
            ),
            make_call(vault, caller_id=kept_ext, callee_id=stayer, started_at=OLD),
        ]
    )
    make_call(vault, caller_id=kept_ext, callee_id=stayer, started_at=NEW)
    make_voicemail(
        vault, mailbox_id=stayer, caller_id=vm_ext, received_at="2026-11-15T08:00:00+00:00"
    )
    make_voicemail(vault, mailbox_id=stayer, caller_id=kept_ext, received_at=NEW)
    return ids


def test_expired_calls_become_statistics_and_their_callers_vanish(vault, world):
    report = run_retention(vault, as_of=AS_OF)
    assert report.total("call_record", "anonymised") == 3
    assert count(vault, calls, calls.c.tenant_id == "acme") == 1
    assert stats_total(vault) == 0  # two people's calls: cells below k are not kept (issue 12)
    assert report.total("call_record", "cells_suppressed") == 2  # inbound and outbound
    with vault.engine.connect() as conn:
        for number in (GONE["phone"], GONE["vm_phone"], GONE["user_phone"], GONE["extension"]):
            with pytest.raises(NotFound):
                find_subject(vault, conn, "acme", number)
        assert find_subject(vault, conn, "acme", "+4527182818") == world["kept_ext"]
        assert find_subject(vault, conn, "acme", "carl@acme.dk") == world["stayer"]


def test_no_identifier_of_expired_records_survives_anywhere(vault, world):
    run_retention(vault, as_of=AS_OF)
    text = table_text(vault)
    surrogates = [world["leaver"], world["old_ext"], world["vm_ext"], *world["old_calls"].split()]
    assert [s for s in surrogates if s in text] == []
    raw = dump_bytes(vault)
    plain = [*GONE.values(), GONE["phone"][3:], GONE["user_phone"][3:], "Brandt"]
    assert [p for p in plain if p.encode() in raw] == []
    assert count(vault, subjects, subjects.c.tenant_id == "acme") == 2  # stayer and kept_ext only
    assert count(vault, voicemails, voicemails.c.tenant_id == "acme") == 1


def test_legal_hold_keeps_exactly_the_billing_subset(vault):
    make_tenant(vault, "acme")
    user, ext = make_user(vault), make_external(vault)
    kinds = [
        ("outbound", "answered", 55),
        ("outbound", "answered", 7),
        ("outbound", "answered", 0),
        ("outbound", "no_answer", 0),
        ("inbound", "answered", 40),
    ]
    for direction, outcome, billsec in kinds:
        make_call(
            vault,
            caller_id=user if direction == "outbound" else ext,
            callee_id=ext if direction == "outbound" else user,
            started_at=OLD,
            direction=direction,
            outcome=outcome,
            billsec_s=billsec,
        )
    run_retention(vault, as_of=AS_OF)
    rows = read_billing(vault, "acme", "bookkeeping", actor="accountant")
    assert sorted(r["billsec_s"] for r in rows) == [7, 55]
    assert {(r["call_date"], r["payer_subject_id"]) for r in rows} == {("2026-06-01", user)}
    with pytest.raises(PolicyRefusal):
        read_billing(vault, "acme", "customer_service", actor="support")
    with vault.engine.connect() as conn:
        denied = list(audit.entries(conn, "acme", action="billing.read"))
    assert [e["outcome"] for e in denied][:2] == ["deny", "allow"]
    run_retention(vault, as_of=parse_instant("2031-06-02", field="as_of"))
    assert count(vault, billing_records, billing_records.c.tenant_id == "acme") == 0


def test_rerun_changes_nothing_and_status_turns_green(vault, world):
    before = retention_status(vault, at=AS_OF)
    assert not before.ok
    assert before.tenants[0].overdue == {
        "call_record": 3,
        "voicemail": 1,
        "subject_profile": 1,
        "billing_record": 0,
    }
    run_retention(vault, as_of=AS_OF)
    again = run_retention(vault, as_of=AS_OF)
    assert [c for kinds in again.counts.values() for c in kinds.values() if any(c.values())] == []
    assert stats_total(vault) == 0
    after = retention_status(vault, at=AS_OF)
    assert after.ok and after.overdue == 0
    assert after.tenants[0].last_run is not None and after.tenants[0].last_run["state"] == "done"
    with vault.engine.connect() as conn:
        assert audit.verify(conn, vault.keyring.audit_key()).ok
        evidence = list(audit.entries(conn, OPERATOR, action="retention.run"))
    assert evidence[0]["details"]["counts"]["call_record"]["anonymised"] == 0
    assert evidence[1]["details"]["counts"]["call_record"]["anonymised"] == 3


def test_tenant_override_shortens_the_period(vault):
    make_tenant(vault, "acme", retention={"call_record": "P30D"})
    make_tenant(vault, "beta")
    for tenant in ("acme", "beta"):
        make_call(vault, tenant, caller_id=None, callee_id=None, started_at="2026-11-15T00:00:00Z")
    run_retention(vault, as_of=AS_OF)
    assert count(vault, calls, calls.c.tenant_id == "acme") == 0
    assert count(vault, calls, calls.c.tenant_id == "beta") == 1


def test_offboarded_user_keeps_calls_unlinked(vault, world):
    make_offboarded(vault, "acme", world["leaver"], "2026-07-01T00:00:00+00:00")
    make_voicemail(vault, mailbox_id=world["leaver"], caller_id=None, received_at="2026-08-14")
    run_retention(vault, as_of=parse_instant("2026-08-15", field="as_of"))  # only the leaver
    with vault.engine.connect() as conn:
        linked = conn.scalar(
            select(func.count())
            .select_from(calls)
            .where(
                (calls.c.caller_subject_id == world["leaver"])
                | (calls.c.callee_subject_id == world["leaver"])
            )
        )
    assert linked == 0
    assert count(vault, calls, calls.c.tenant_id == "acme") == 4  # not yet past their own period
    assert count(vault, voicemails, voicemails.c.mailbox_subject_id == world["leaver"]) == 0
    assert count(vault, subjects, subjects.c.subject_id == world["leaver"]) == 0


def test_dry_run_changes_nothing(vault, world):
    report = run_retention(vault, as_of=AS_OF, dry_run=True)
    assert report.counts["acme"]["call_record"] == {"anonymised": 3, "billing_copied": 1}
    assert count(vault, calls, calls.c.tenant_id == "acme") == 4
    assert stats_total(vault) == 0


def test_callvault_stats_counts_the_same_after_anonymisation(vault):
    make_tenant(vault, "acme")
    users = make_users(vault, 7)  # every cell has 7 people: kept after retention, and shown
    externals = [make_external(vault, phone=f"+45404040{i:02d}") for i in range(10)]
    parties = [(externals[i % 10], users[i % 7]) for i in range(70)]
    make_calls_bulk(vault, "acme", 600, start=OLD, step_s=60, parties=parties)
    before = statistics(vault, "acme", by="day", at=AS_OF)
    run_retention(vault, as_of=AS_OF)
    after = statistics(vault, "acme", by="day", at=AS_OF)
    assert count(vault, calls, calls.c.tenant_id == "acme") == 0
    assert sum(c["calls"] for c in after["cells"]) == 600
    assert after["cells"] == before["cells"]


def test_ingested_voicemail_and_its_key_shares_expire(vault, tmp_path, samples_clock):
    # A message of 2026-11-02, judged at its arrival as of samples_clock: from 2026-12-02 on the
    # real clock it would expire on arrival (30 days) and never be stored.
    from callvault import ingest_voicemail
    from callvault.store.schema.voicemail_keys import voicemail_keys

    make_tenant(vault, "acme")
    make_user(vault, "acme", extension="201")
    box = tmp_path / "voicemail" / "default" / "201" / "INBOX"
    write_message(
        box,
        callerid='"Dora Dahl" <+4550515253>',
        origtime=1793613731,
        audio=b"RIFF\x24\x00\x00\x00WAVEfmt recording",
    )
    assert ingest_voicemail(vault, "acme", tmp_path / "voicemail").stored == 1
    assert count(vault, voicemail_keys, voicemail_keys.c.tenant_id == "acme") == 2
    report = run_retention(vault, as_of=AS_OF)
    assert report.counts["acme"]["voicemail"] == {"deleted": 1, "externals_shredded": 1}
    assert count(vault, voicemail_keys, voicemail_keys.c.tenant_id == "acme") == 0
    with vault.engine.connect() as conn, pytest.raises(NotFound):
        find_subject(vault, conn, "acme", "+4550515253")


def test_a_run_start_commits_with_its_audit_entry(vault, world):
    run_retention(vault, as_of=AS_OF)
    with vault.engine.connect() as conn:
        started = list(audit.entries(conn, OPERATOR, action="retention.start"))
    assert len(started) == 1 and started[0]["details"]["tenants"] == ["acme"]
