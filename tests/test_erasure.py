"""Erasure (Art. 17) through `callvault dsr erase`, and `dsr reapply-erasures` after a restore."""

import sqlite3
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import event, func, or_, select

from callvault import (
    InvalidInput,
    PolicyRefusal,
    Verification,
    cancel_request,
    create_request,
    erase,
    get_request,
    give_consent,
    object_to,
    reapply_erasures,
    rectify,
    refuse_request,
    restrict,
    withdraw_consent,
)
from callvault.accountability.audit import entries
from callvault.retention import batches
from callvault.retention.batches import delete_subject_records
from callvault.rights.tombstones import subject_markers
from callvault.store.schema.consent import consent_events, consent_records
from callvault.store.schema.core import calls, subject_identifiers, voicemails
from callvault.store.schema.retention import billing_records
from callvault.vault import Vault
from clihelp import run_cli
from factories import (
    make_call,
    make_external,
    make_tenant,
    make_user,
    make_users,
    make_voicemail,
)

ALICE = ["Alice Andersen", "alice@acme.dk", "+4522334455", "4522334455"]
LONE = "+4540404040"  # calls only Alice: shredded with her
SHARED = "+4540404041"  # also calls Bob: kept


@pytest.fixture
def people(vault):
    make_tenant(vault)
    alice = make_user(vault)
    bob = make_user(vault, name="Bob Berg", email="bob@acme.dk", phone="+4522334466",
                    extension="202")  # fmt: skip
    lone, shared = make_external(vault, phone=LONE), make_external(vault, phone=SHARED)
    make_call(vault, caller_id=lone, callee_id=alice)
    make_call(vault, caller_id=alice, callee_id=shared, direction="outbound")  # billed
    make_call(vault, caller_id=bob, callee_id=alice, direction="internal")
    make_call(vault, caller_id=shared, callee_id=bob)
    make_voicemail(vault, mailbox_id=alice, caller_id=lone)
    make_voicemail(vault, mailbox_id=bob, caller_id=alice)  # a message Alice left
    give_consent(vault, "acme", alice, "personalisation")
    restrict(vault, "acme", alice)
    with vault.engine.connect() as conn:
        indexes = conn.scalars(select(subject_identifiers.c.blind_index).where(
            subject_identifiers.c.subject_id.in_([alice, lone]),
            subject_identifiers.c.blind_index.is_not(None))).all()  # fmt: skip
    return {"alice": alice, "bob": bob, "shared": shared, "indexes": indexes}


def _count(vault, table, *where):
    with vault.engine.connect() as conn:
        return conn.scalar(select(func.count()).select_from(table).where(*where))


def _dump(vault) -> bytes:
    url = vault.engine.url
    if url.get_backend_name() == "sqlite":
        vault.engine.dispose()
        files = [Path(url.database), Path(url.database + "-wal")]
        return b"".join(f.read_bytes() for f in files if f.exists())
    plain = url.set(drivername="postgresql").render_as_string(hide_password=False)
    return subprocess.run(["pg_dump", "--data-only", plain], check=True, capture_output=True).stdout


def _gone(capsys, people):
    for text in [*ALICE, people["alice"], LONE]:
        result = run_cli(capsys, "dsr", "restrict", "--tenant", "acme", "--subject", text)
        assert result.code == 4, text


def test_erase_removes_everything_but_the_legal_hold(vault, people, cli_env, capsys):
    args = ["dsr", "erase", "--tenant", "acme", "--subject", "alice@acme.dk", "--json"]
    result = run_cli(capsys, *args, "--verified-by", "tenant-admin:hr")
    assert result.code == 0, result.err
    out = result.json()
    assert out["erased"] == {
        "billing_copied": 1, "calls_anonymised": 2, "calls_unlinked": 1, "voicemails_deleted": 2,
        "consents_restrictions_objections": 2, "support_scopes": 0, "identifiers": 4,
        "profiles": 1, "externals_shredded": 1,
    }  # fmt: skip
    hold = out["legal_hold"][0]
    assert hold["kept"] == 1 and hold["law"].startswith("Danish Bookkeeping Act")
    assert _count(vault, billing_records, billing_records.c.payer_subject_id.is_(None)) == 1
    _gone(capsys, people)
    bob = people["bob"]
    assert _count(vault, calls, or_(calls.c.caller_subject_id == bob,
                                    calls.c.callee_subject_id == bob)) == 2  # fmt: skip
    assert _count(vault, voicemails) == 0
    dump = _dump(vault)
    assert b"Bob Berg" not in dump  # identifiers are never in clear (test_storage): and now
    for index in people["indexes"]:  # not even Alice's or her lone caller's blind indexes
        assert bytes(index) not in dump
    assert run_cli(capsys, "audit", "verify").code == 0
    listed = run_cli(capsys, "dsr", "list", "--tenant", "acme", "--json").json()["requests"]
    erasure = next(r for r in listed if r["type"] == "erasure")
    assert erasure["state"] == "completed" and erasure["verified_by"] == "tenant-admin:hr"
    assert erasure["evidence"]["art19"]["recipient"] == "controller"
    assert "Bookkeeping" in erasure["outcome"]


def test_unverified_erasure_is_refused_and_audited(vault, people):
    bob = people["bob"]
    for verification in (None, Verification("subject_token", by=f"subject:{bob}", subject_id=bob)):
        with pytest.raises(PolicyRefusal):
            erase(vault, "acme", "alice@acme.dk", verification=verification)
    with vault.engine.connect() as conn:
        denied = [e for e in entries(conn, "acme") if e["action"] == "subject.erase"]
    assert [e["outcome"] for e in denied] == ["deny", "deny"]
    assert _count(vault, subject_identifiers, subject_identifiers.c.subject_id == people["alice"])


def _backup(vault, where: Path) -> None:
    url = vault.engine.url
    vault.engine.dispose()
    if url.get_backend_name() == "sqlite":  # SQLite's online backup: consistent, WAL included
        _copy_sqlite(url.database, str(where))
        return
    plain = url.set(drivername="postgresql").render_as_string(hide_password=False)
    subprocess.run(["pg_dump", "-Fc", "-f", str(where), plain], check=True)


def _copy_sqlite(source: str, target: str) -> None:
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    src.close()
    dst.close()


def _restore(vault, where: Path) -> None:
    url = vault.engine.url
    vault.engine.dispose()
    if url.get_backend_name() == "sqlite":
        _copy_sqlite(str(where), url.database)
        return
    plain = url.set(drivername="postgresql").render_as_string(hide_password=False)
    subprocess.run(["pg_restore", "--clean", "--if-exists", "-d", plain, str(where)], check=True,
                   capture_output=True)  # fmt: skip


def test_restored_backup_is_erased_again(vault, people, cli_env, capsys, tmp_path, master_key):
    _backup(vault, tmp_path / "backup")
    erase(vault, "acme", "alice@acme.dk", verification=Verification.operator())
    _restore(vault, tmp_path / "backup")
    restored = Vault.open(str(vault.engine.url.render_as_string(hide_password=False)),
                          master_key=master_key)  # fmt: skip
    try:
        assert _count(restored, subject_identifiers,
                      subject_identifiers.c.subject_id == people["alice"]) == 4  # fmt: skip
    finally:
        restored.close()
    result = run_cli(capsys, "dsr", "reapply-erasures", "--json")
    assert result.code == 0, result.err
    assert result.json()["erased_again"] == 1
    _gone(capsys, people)
    for index in people["indexes"]:
        assert bytes(index) not in _dump(vault)
    assert run_cli(capsys, "dsr", "reapply-erasures", "--json").json()["erased_again"] == 0
    assert run_cli(capsys, "audit", "verify").code == 0


def test_a_subject_known_only_by_name_is_erased_again(vault, cli_env, capsys, tmp_path):
    from callvault.subjects.directory import create_subject

    make_tenant(vault)
    with vault.transaction() as conn:
        nameless = create_subject(vault, conn, "acme", kind="user", values={"name": ["Dora"]},
                                  now=datetime.now(UTC))  # fmt: skip
    _backup(vault, tmp_path / "backup")
    erase(vault, "acme", nameless, verification=Verification.operator())
    _restore(vault, tmp_path / "backup")
    assert run_cli(capsys, "dsr", "reapply-erasures", "--json").json()["erased_again"] == 1
    assert run_cli(capsys, "dsr", "restrict", "--tenant", "acme", "--subject", nameless).code == 4


def _closed(vault, subject: str, type_: str, how: str) -> str:
    rid = create_request(vault, "acme", subject, type_, verification=Verification.operator())
    if how == "cancelled":
        cancel_request(vault, "acme", rid.request_id)
    else:
        refuse_request(vault, "acme", rid.request_id, "manifestly unfounded")
    return rid.request_id


@pytest.mark.parametrize("how", ["cancelled", "refused"])
def test_a_closed_request_is_never_carried_out(vault, people, how):
    alice = people["alice"]
    rid = _closed(vault, alice, "erasure", how)
    with pytest.raises(InvalidInput, match=f"the request is {how}") as caught:
        erase(vault, "acme", alice, verification=Verification.operator(), request_id=rid)
    assert caught.value.pointer == "request_id"
    assert vault.keyring.keystore.tombstones("acme") == {}  # nothing committed before the check
    assert _count(vault, subject_identifiers, subject_identifiers.c.subject_id == alice) == 4
    assert get_request(vault, "acme", rid).state == how
    actions = (
        ("rectification", lambda r: rectify(vault, "acme", alice, "name", "Alice B",
                                            verification=Verification.operator(), request_id=r)),
        ("restriction", lambda r: restrict(vault, "acme", alice, request_id=r)),
        ("objection", lambda r: object_to(vault, "acme", alice, "customer_service", request_id=r)),
    )  # fmt: skip
    for type_, act in actions:
        closed = _closed(vault, alice, type_, how)
        with pytest.raises(InvalidInput, match=f"the request is {how}"):
            act(closed)
        assert get_request(vault, "acme", closed).state == how


def test_reapply_survives_a_tombstone_of_a_closed_request(vault, people):
    """A tombstone left on a cancelled request (as an erasure before this check could leave one)
    neither aborts the re-erasure nor rewrites the closed request; the others are completed."""
    alice, bob = people["alice"], people["bob"]
    cancelled = _closed(vault, alice, "erasure", "cancelled")
    pending = create_request(vault, "acme", bob, "erasure",
                             verification=Verification.operator()).request_id  # fmt: skip
    with vault.engine.connect() as conn:
        marks = {s: subject_markers(vault, conn, "acme", s) for s in (alice, bob)}
    vault.keyring.keystore.add_tombstones("acme", cancelled, marks[alice])
    vault.keyring.keystore.add_tombstones("acme", pending, marks[bob])
    done = reapply_erasures(vault)
    assert done.total == 2
    by_subject = {item["subject"]: item for item in done.erased["acme"]}
    assert by_subject[alice]["request_state"] == "cancelled"
    assert get_request(vault, "acme", cancelled).state == "cancelled"
    assert get_request(vault, "acme", pending).state == "completed"
    for subject in (alice, bob):
        assert _count(vault, subject_identifiers, subject_identifiers.c.subject_id == subject) == 0
    with vault.engine.connect() as conn:
        erased = [e for e in entries(conn, "acme") if e["action"] == "subject.erase"]
    assert {e["details"]["request_id"] for e in erased} == {cancelled, pending}


def test_a_named_operator_that_vouched_itself_does_not_erase(vault, people):
    alice = people["alice"]
    with pytest.raises(PolicyRefusal, match="vouched for by the operator"):
        erase(vault, "acme", alice, actor="operator:ops",
              verification=Verification("operator", "operator:ops"))  # fmt: skip
    assert vault.keyring.keystore.tombstones("acme") == {}
    assert _count(vault, subject_identifiers, subject_identifiers.c.subject_id == alice) == 4
    with vault.engine.connect() as conn:
        denied = [e for e in entries(conn, "acme") if e["action"] == "subject.erase"][-1]
    assert (denied["outcome"], denied["details"]["rule"]) == ("deny", "identity.self_vouched")
    erase(vault, "acme", alice, actor="operator:ops",
          verification=Verification("controller", "tenant-admin:hr"))  # fmt: skip
    assert _count(vault, subject_identifiers, subject_identifiers.c.subject_id == alice) == 0


def test_erasing_one_subjects_consents_reads_its_records_alone(fresh_pg_vault):
    """An erasure's consent cleanup must not grow with the tenant's consents. Its events were
    deleted where their record was IN a subquery on the subject: on tables without statistics,
    PostgreSQL ran that as a nested loop reading every consent record of the tenant once per
    consent event of the tenant (2,048 buffers here, 175 ms an erasure at 1,000 subjects). The
    statements it runs now are replayed under EXPLAIN ANALYZE and their buffers counted."""
    vault = fresh_pg_vault
    make_tenant(vault)
    users = make_users(vault, 60)
    for user in users:
        give_consent(vault, "acme", user, "personalisation")
    ran: list[tuple[str, object]] = []

    def record(conn, cursor, sql, params, context, many):  # type: ignore[no-untyped-def]
        ran.append((sql, params))

    with vault.engine.connect() as conn, conn.begin() as transaction:
        event.listen(conn, "before_cursor_execute", record)
        delete_subject_records(conn, "acme", [users[0]])
        event.remove(conn, "before_cursor_execute", record)
        transaction.rollback()
    buffers = 0
    with vault.engine.connect() as conn, conn.begin() as transaction:
        for sql, params in ran:
            plan = conn.exec_driver_sql(f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {sql}", params)
            buffers += plan.scalar()[0]["Plan"]["Shared Hit Blocks"]
        transaction.rollback()
    assert ran and buffers < 10 * len(users)


def test_consent_cleanup_pages_through_the_records_of_a_subject(vault, monkeypatch):
    """Pages of one record: every event of the erased subject's records goes, no other's."""
    make_tenant(vault)
    alice, bob = make_users(vault, 2)
    for user in (alice, bob):
        give_consent(vault, "acme", user, "personalisation")
        withdraw_consent(vault, "acme", user, "personalisation")
        give_consent(vault, "acme", user, "personalisation")
    monkeypatch.setattr(batches, "_CHUNK", 1)
    with vault.transaction() as conn:
        records = select(consent_records.c.record_id).where(consent_records.c.subject_id == alice)
        assert len(conn.scalars(records).all()) > 1  # more than one page
        delete_subject_records(conn, "acme", [alice])
        left = conn.execute(
            select(consent_records.c.subject_id, func.count())
            .join(consent_events, consent_events.c.record_id == consent_records.c.record_id)
            .group_by(consent_records.c.subject_id)
        ).all()
        orphans = conn.scalar(
            select(func.count())
            .select_from(consent_events)
            .where(consent_events.c.record_id.not_in(select(consent_records.c.record_id)))
        )
    assert [subject for subject, _ in left] == [bob] and orphans == 0
