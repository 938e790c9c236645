"""The shortcuts of the hot paths (issue 17) keep what they replace: the audit chain stays whole when
the remembered head is stale, prepared statements read back what SQLAlchemy would, remembered gate
decisions differ per tenant profile, and subject lookups by id still find identifiers."""

from __future__ import annotations

import itertools
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text

from callvault.accountability.audit import verify_audit
from callvault.collection.ingest import calls as ingest
from callvault.collection.ingest.bulk import WriteBehind
from callvault.consent.acts import consent_state, give_consent
from callvault.errors import InvalidInput, NotFound
from callvault.processing.context import rules_for
from callvault.processing.gate import GateContext, decide
from callvault.store import connect
from callvault.store.audit_chain import AuditEntry
from callvault.store.schema.core import audit_heads, audit_log
from callvault.subjects.actors import check_actor
from callvault.subjects.directory import create_subject, find_subject, find_subject_kind, new_id
from callvault.tenants import Agreement, Tenant
from callvault.vault import Vault
from factories import make_tenant


def _append(vault: Vault, action: str, tenant: str = "acme") -> int:
    with vault.transaction() as conn:
        return vault.audit(conn, tenant, AuditEntry(actor="t", action=action))


def _seqs(vault: Vault) -> list[int]:
    with vault.engine.connect() as conn:
        q = select(audit_log.c.seq).where(audit_log.c.tenant_id == "acme").order_by("seq")
        return list(conn.scalars(q))


def test_two_writers_interleaving_keep_one_whole_chain(vault, db_url, master_key):
    make_tenant(vault)
    other = Vault.open(db_url, master_key=master_key)
    try:
        for i in range(4):  # each writer's remembered head is stale after the other's append
            _append(vault, f"a{i}")
            _append(other, f"b{i}")
    finally:
        other.close()
    seqs = _seqs(vault)
    assert seqs == list(range(1, len(seqs) + 1)) and len(seqs) >= 8
    report = verify_audit(vault, "acme")
    assert report.ok, report


def test_a_rolled_back_append_leaves_no_gap(vault):
    make_tenant(vault)
    first = _append(vault, "kept")
    with pytest.raises(RuntimeError), vault.transaction() as conn:
        vault.audit(conn, "acme", AuditEntry(actor="t", action="undone"))
        raise RuntimeError("roll back")
    assert _append(vault, "next") == first + 1
    with vault.engine.connect() as conn:
        head = conn.execute(select(audit_heads).where(audit_heads.c.tenant_id == "acme")).one()
        actions = list(
            conn.scalars(select(audit_log.c.action).where(audit_log.c.tenant_id == "acme"))
        )
    assert head.seq == first + 1 and "undone" not in actions
    assert verify_audit(vault, "acme").ok


def test_a_head_moved_behind_the_writers_back_is_extended_not_forked(vault):
    make_tenant(vault)
    _append(vault, "one")
    with vault.engine.begin() as conn:  # the head as another process would leave it
        conn.execute(audit_heads.update().where(audit_heads.c.tenant_id == "acme").values(seq=99))
    assert _append(vault, "two") == 100  # the remembered head no longer matches: read again


def test_consent_state_reads_back_aware_utc_times(vault):
    make_tenant(vault)
    at = datetime(2026, 3, 1, 12, 30, 15, 123456, tzinfo=UTC)
    with vault.transaction() as conn:
        subject = create_subject(vault, conn, "acme", kind="user", values={}, now=at)
    record = give_consent(vault, "acme", subject, "personalisation", at=at)
    purpose = vault.policy.purposes["personalisation"]
    with vault.engine.connect() as conn:
        state = consent_state(conn, "acme", subject, purpose, vault.policy.version, at)
        before = consent_state(
            conn, "acme", subject, purpose, vault.policy.version, at - timedelta(microseconds=1)
        )
        other = consent_state(conn, "other", subject, purpose, vault.policy.version, at)
    assert state.valid and state.record_id == record.record_id
    assert record.created_at == at and record.created_at.tzinfo is not None
    assert not before.valid and not other.valid  # a moment earlier; another tenant


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # only SQLite stores them as text
def test_sqlite_timestamps_keep_their_text_form(vault):
    make_tenant(vault)
    at = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    with vault.transaction() as conn:
        subject = create_subject(vault, conn, "acme", kind="user", values={}, now=at)
    with vault.engine.connect() as conn:
        stored = conn.scalar(text("SELECT created_at FROM subjects WHERE subject_id = :s"),
                             {"s": subject})  # fmt: skip
    assert stored == "2026-03-01 12:00:00.000000"


def test_lookup_by_surrogate_id_and_by_an_id_shaped_external_id(vault):
    make_tenant(vault)
    now = datetime.now(UTC)
    shaped = new_id()  # an external id that looks like a surrogate id
    with vault.transaction() as conn:
        user = create_subject(vault, conn, "acme", kind="user", now=now,
                              values={"email": ["a@acme.dk"], "external_id": [shaped]})  # fmt: skip
        caller = create_subject(vault, conn, "acme", kind="external", values={}, now=now)
    with vault.engine.connect() as conn:
        assert find_subject_kind(vault, conn, "acme", caller) == (caller, "external")
        assert find_subject(vault, conn, "acme", shaped) == user
        assert find_subject(vault, conn, "acme", "A@acme.dk ") == user
        with pytest.raises(NotFound):
            find_subject(vault, conn, "other", user)  # another tenant's id is not found


def test_remembered_decisions_follow_the_tenant_profile(vault):
    now = datetime.now(UTC)
    rules = rules_for(vault.policy)
    ctx = GateContext(rules, {"personalisation": _Given()})
    agreement = Agreement("A", now - timedelta(days=1), None)
    full = Tenant("a", "A", tuple(sorted(vault.policy.collectable)), agreement)
    narrow = Tenant("b", "B", ("user.name",), agreement)
    purpose = "personalisation"
    for _ in range(2):  # the second round answers from what was remembered
        wide = decide("app", full, "s", purpose, None, now, ctx=ctx)
        slim = decide("app", narrow, "s", purpose, None, now, ctx=ctx)
        assert wide.allowed and wide.categories
        assert slim.allowed and slim.categories == {"user.name"} != wide.categories


class _Given:
    valid = True
    reason = "consent given"


@pytest.mark.parametrize("actor", ["subject:" + "4" * 32, "support:4522334455", "a@b.dk"])
def test_actor_check_still_refuses_numbers(actor):
    if actor.endswith("4" * 32):
        assert check_actor(actor) == actor  # a surrogate id, never a number
    else:
        with pytest.raises(InvalidInput):
            check_actor(actor)


def test_write_behind_runs_jobs_in_order_and_raises_only_once_all_are_over(tmp_path):
    """A failed write must not let the caller touch the connection while a later job (the next
    batch's probe) still uses it: wait() raises the first error once every job is over."""
    engine = connect(f"sqlite:///{tmp_path / 'w.db'}")
    order: list[str] = []

    def fail() -> None:
        time.sleep(0.2)  # a second worker, or no order, would start the probe meanwhile
        order.append("write")
        raise ValueError("the write failed")

    def probe() -> int:
        order.append("probe starts")
        time.sleep(0.2)
        order.append("probe")
        return 7

    with engine.connect() as conn:
        writer = WriteBehind(conn)
        writer.submit(fail)
        later = writer.submit(probe)
        with pytest.raises(ValueError, match="the write failed"):
            writer.wait()
        assert order == ["write", "probe starts", "probe"] and later.result() == 7
        writer.close()
    engine.dispose()


def test_write_behind_on_an_in_memory_database_runs_each_job_at_once():
    engine = connect("sqlite://")
    with engine.connect() as conn:
        writer = WriteBehind(conn)
        done = writer.submit(lambda: conn.exec_driver_sql("SELECT 41 + 1").scalar())
        assert done.done() and done.result() == 42  # same thread: the database is bound to it
        with pytest.raises(ZeroDivisionError):
            writer.submit(lambda: 1 / 0)
        writer.close()
    engine.dispose()


def test_ordered_ids_rise_and_stay_unique_when_their_counter_wraps(monkeypatch):
    monkeypatch.setattr(ingest, "_COUNTER", 7)  # wraps after 7 ids
    monkeypatch.setattr(ingest, "BATCH", 3)
    ids = list(itertools.islice(ingest.ordered_ids(), 20))
    assert len(set(ids)) == 20 and all(len(i) == 32 for i in ids)
    counters = [int(i[10:16], 16) for i in ids]
    assert counters[:8] == [0, 1, 2, 3, 4, 5, 6, 0]  # the counter wraps ...
    assert ids[7][:10] > ids[6][:10]  # ... under a later time prefix: still rising
