"""Storage limitation (GDPR Art. 5(1)(e)): anonymise, delete and hold records when their period ends.

Per tenant and in this order (so that the billing copy still names its payer):
1. call records past their period become anonymous statistics (DESIGN, "Anonymisation is not deletion
   of the name"); the billing subset is copied under legal hold; the event-level rows are deleted;
   external callers left with no data are crypto-shredded; the last batch deletes statistics cells
   of fewer than k people (:mod:`callvault.retention.suppression`);
2. voicemails past their period are deleted (audio and metadata), externals left with nothing shredded;
3. offboarded users past the grace period lose their profile: voicemail box deleted, calls unlinked
   (their party reference set NULL: the call stays until its own rule anonymises it), consent records
   (with their history), restrictions and objections deleted, identifiers and data key shredded;
4. billing records past the legal period are deleted.

Each batch is ONE transaction holding its statistics, billing copy, deletions, shredding and audit
entry: a process killed at any moment leaves no half-anonymised record, and the next run finishes the
job. A run with the same as-of again changes nothing. ``retention_runs`` records each run's start and
finish per tenant, so a killed run is visible to ``retention status`` (Art. 5(2) accountability).
"""

from __future__ import annotations

import contextlib
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, func, insert, select, update

from callvault.clock import utcnow
from callvault.policy.taxonomy import CALL_HISTORY, EMAIL, NAME, PHONE, VOICEMAIL
from callvault.retention import anonymise as A
from callvault.retention import batches as B
from callvault.retention.rules import KINDS, Rule, overdue_counts, tenant_rules
from callvault.retention.suppression import suppress_small_cells
from callvault.store.audit_chain import OPERATOR, AuditEntry
from callvault.store.cells import floor
from callvault.store.schema.core import calls
from callvault.store.schema.retention import retention_runs
from callvault.subjects.codes import prune_sign_in_codes
from callvault.subjects.directory import new_id, shred_subjects
from callvault.subjects.sessions import prune_web_sessions
from callvault.tenants import get_tenant, list_tenants
from callvault.vault import Vault

ACTOR = "retention"
# Records per transaction. On SQLite each batch rewrites nearly every leaf page of the indexes of
# ``calls`` keyed by random ids (its primary key, ``ux_calls_source``), whatever its size: at 1,000,000
# expired calls among 2,000,000, batches of 50,000 spent 34 s deleting where batches of 250,000 spent
# 20 s and a single transaction 19 s. A batch holds no call rows in Python (only the distinct
# external parties it names), so its size bounds the transaction (SQLite's write lock, a few
# seconds, well within the 30 s busy timeout of other writers; the WAL) rather than memory.
DEFAULT_BATCH = 250_000
_PROFILE_BATCH = 1_000
# Voicemails carry their audio in the row, and SQLite's secure_delete overwrites every page of it:
# a batch of them is bounded apart (a few hundred MB of audio at most per transaction).
_VOICEMAIL_BATCH = 2_000
# What each kind's records hold, named in the evidence (categories, never values).
CATEGORIES = {
    "call_record": (CALL_HISTORY, PHONE),
    "voicemail": (VOICEMAIL, PHONE),
    "subject_profile": (NAME, EMAIL, PHONE),
    "billing_record": (CALL_HISTORY,),
}


@dataclass
class RetentionReport:
    """What a run did (or, dry, would do): per tenant and kind, counts; with rules and timing."""

    run_id: str | None
    as_of: datetime
    dry_run: bool
    rules: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    counts: dict[str, dict[str, dict[str, int]]] = field(default_factory=dict)
    duration_s: float = 0.0

    def total(self, kind: str, key: str) -> int:
        return sum(kinds.get(kind, {}).get(key, 0) for kinds in self.counts.values())

    def as_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "as_of": self.as_of.isoformat(),
            "dry_run": self.dry_run,
            "duration_s": round(self.duration_s, 3),
            "tenants": {
                tenant: {"rules": self.rules[tenant], "counts": self.counts.get(tenant, {})}
                for tenant in self.rules
            },
        }


def run_retention(
    vault: Vault,
    as_of: datetime | None = None,
    dry_run: bool = False,
    tenant: str | None = None,
    batch_size: int | None = None,
) -> RetentionReport:
    """Apply every tenant's retention rules as of ``as_of`` (default: now)."""
    moment = as_of or utcnow()
    started = time.monotonic()
    with vault.engine.connect() as conn:
        tenants = [get_tenant(conn, tenant)] if tenant else list_tenants(conn)
    rules = {t.id: tenant_rules(vault, t) for t in tenants}
    report = RetentionReport(None if dry_run else new_id(), moment, dry_run)
    report.rules = {t: {k: r.as_dict() for k, r in kinds.items()} for t, kinds in rules.items()}
    if dry_run:
        with vault.engine.connect() as conn:
            report.counts = {t: _would_do(conn, t, rules[t], moment) for t in rules}
        report.duration_s = time.monotonic() - started
        return report
    assert report.run_id is not None
    _start(vault, report.run_id, list(rules), moment)
    for tenant_id, kinds in rules.items():
        try:
            report.counts[tenant_id] = _run_tenant(
                vault, tenant_id, kinds, moment, report.run_id, batch_size or DEFAULT_BATCH
            )
        except BaseException as exc:  # killed by Ctrl-C too: say so in the runs table
            report.duration_s = time.monotonic() - started
            with contextlib.suppress(Exception):
                _fail(vault, report, type(exc).__name__)  # a message could quote row values
            raise
        _finish_tenant(vault, report, tenant_id, time.monotonic() - started)
    report.duration_s = time.monotonic() - started
    _evidence(vault, report, "ok")
    _truncate_wal(vault)
    return report


def _run_tenant(
    vault: Vault, tenant_id: str, rules: dict[str, Rule], as_of: datetime, run_id: str, size: int
) -> dict[str, dict[str, int]]:
    return {
        "call_record": _anonymise_calls(vault, tenant_id, rules, as_of, run_id, size),
        "voicemail": _delete_voicemails(vault, tenant_id, rules, as_of, run_id, size),
        "subject_profile": _delete_profiles(vault, tenant_id, rules, as_of, run_id),
        "billing_record": _delete_billing(vault, tenant_id, rules, as_of, run_id, size),
    }


Batch = Callable[[Connection], dict[str, int]]


def _batches(vault: Vault, tenant_id: str, kind: str, run_id: str, step: Batch) -> dict[str, int]:
    """Run ``step`` in one transaction at a time until it reports nothing left (``done``): each
    batch's changes and its audit entry commit together or not at all."""
    totals: Counter[str] = Counter()
    with B.retention_connection(vault) as conn:
        while True:
            with conn.begin():
                B.serialise(conn, tenant_id)
                counts = step(conn)
                done = counts.pop("done")
                if any(counts.values()):
                    entry = AuditEntry(
                        actor=ACTOR,
                        action=f"retention.{kind}",
                        categories=CATEGORIES[kind],
                        details={**counts, "run_id": run_id},
                    )
                    vault.audit(conn, tenant_id, entry)
            vault.finish_shreds()  # the batch committed: destroy its shredded subjects' keys
            totals.update(counts)
            if done:
                return {key: totals.get(key, 0) for key in counts}


def _anonymise_calls(
    vault: Vault, tenant_id: str, rules: dict[str, Rule], as_of: datetime, run_id: str, size: int
) -> dict[str, int]:
    cutoff = rules["call_record"].cutoff(as_of)
    billing_from = floor(rules["billing_record"].cutoff(as_of), "day")
    k = vault.policy.policy.k_anonymity

    after: list[datetime | None] = [None]  # the previous batch's bound

    def step(conn: Connection) -> dict[str, int]:
        bound = B.call_batch_bound(conn, tenant_id, cutoff, after[0], size)
        batch = B.calls_in_batch(tenant_id, cutoff, after[0], bound)
        parties = A.aggregate_calls(conn, batch)
        billed = A.copy_billing(conn, batch, billing_from, utcnow())
        candidates = B.external_parties(conn, tenant_id, batch, parties)
        anonymised = B.delete_calls(conn, batch)
        shredded = B.shred_orphans(vault, conn, tenant_id, candidates)
        after[0] = bound
        # The last batch suppresses the small cells, in its transaction with its audit entry.
        suppressed = suppress_small_cells(conn, tenant_id, cutoff, k) if bound is None else 0
        return {
            "anonymised": anonymised,
            "billing_copied": billed,
            "externals_shredded": shredded,
            "cells_suppressed": suppressed,
            "done": int(bound is None),
        }

    return _batches(vault, tenant_id, "call_record", run_id, step)


def _delete_voicemails(
    vault: Vault, tenant_id: str, rules: dict[str, Rule], as_of: datetime, run_id: str, size: int
) -> dict[str, int]:
    cutoff = rules["voicemail"].cutoff(as_of)

    after: list[datetime | None] = [None]

    def step(conn: Connection) -> dict[str, int]:
        bound = B.voicemail_batch_bound(
            conn, tenant_id, cutoff, after[0], min(size, _VOICEMAIL_BATCH)
        )
        batch = B.voicemails_in_batch(tenant_id, cutoff, after[0], bound)
        candidates = B.voicemail_callers(conn, tenant_id, batch)
        deleted = B.delete_voicemails(conn, batch)
        shredded = B.shred_orphans(vault, conn, tenant_id, candidates)
        after[0] = bound
        done = int(bound is None)
        return {"deleted": deleted, "externals_shredded": shredded, "done": done}

    return _batches(vault, tenant_id, "voicemail", run_id, step)


def _delete_profiles(
    vault: Vault, tenant_id: str, rules: dict[str, Rule], as_of: datetime, run_id: str
) -> dict[str, int]:
    cutoff = rules["subject_profile"].cutoff(as_of)

    def step(conn: Connection) -> dict[str, int]:
        users = B.offboarded_users(conn, tenant_id, cutoff, _PROFILE_BATCH)
        candidates = B.mailbox_callers(conn, tenant_id, users)
        detached = B.detach_users(conn, tenant_id, users)
        consents = B.delete_subject_records(conn, tenant_id, users)
        deleted = shred_subjects(vault, conn, tenant_id, users) if users else 0
        shredded = B.shred_orphans(vault, conn, tenant_id, candidates)
        done = int(len(users) < _PROFILE_BATCH)
        counts = {"deleted": deleted, **detached, "consent_and_restriction_rows": consents}
        return {**counts, "externals_shredded": shredded, "done": done}

    return _batches(vault, tenant_id, "subject_profile", run_id, step)


def _delete_billing(
    vault: Vault, tenant_id: str, rules: dict[str, Rule], as_of: datetime, run_id: str, size: int
) -> dict[str, int]:
    before = floor(rules["billing_record"].cutoff(as_of), "day").date()

    def step(conn: Connection) -> dict[str, int]:
        deleted = B.delete_billing(conn, tenant_id, before, size)
        return {"deleted": deleted, "done": int(deleted < size)}

    return _batches(vault, tenant_id, "billing_record", run_id, step)


def _would_do(
    conn: Connection, tenant_id: str, rules: dict[str, Rule], as_of: datetime
) -> dict[str, dict[str, int]]:
    """A dry run's counts: what is overdue now, and how much of it the legal hold would keep."""
    overdue = overdue_counts(conn, tenant_id, rules, as_of)
    batch = B.calls_in_batch(tenant_id, rules["call_record"].cutoff(as_of), None, None)
    billing_from = floor(rules["billing_record"].cutoff(as_of), "day")
    billed = conn.scalar(
        select(func.count()).select_from(calls).where(and_(A.billing_subset(batch, billing_from)))
    )
    return {
        "call_record": {"anonymised": overdue["call_record"], "billing_copied": int(billed or 0)},
        "voicemail": {"deleted": overdue["voicemail"]},
        "subject_profile": {"deleted": overdue["subject_profile"]},
        "billing_record": {"deleted": overdue["billing_record"]},
    }


# --- the run's own record and evidence ------------------------------------------------------
def _start(vault: Vault, run_id: str, tenant_ids: list[str], as_of: datetime) -> None:
    now = utcnow()
    rows = [
        {
            "tenant_id": tenant_id,
            "run_id": run_id,
            "as_of": as_of,
            "started_at": now,
            "state": "running",
            "counts": {},
        }
        for tenant_id in tenant_ids
    ]
    if rows:
        with vault.transaction() as conn:  # the run's start commits with its audit entry
            conn.execute(insert(retention_runs), rows)
            details = {"run_id": run_id, "as_of": as_of.isoformat(), "tenants": sorted(tenant_ids)}
            vault.audit(conn, OPERATOR, AuditEntry(actor=ACTOR, action="retention.start",
                                                   details=details))  # fmt: skip


def _set_state(conn: Connection, run_id: str, tenant_id: str | None, **values: Any) -> None:
    where = [retention_runs.c.run_id == run_id, retention_runs.c.state == "running"]
    if tenant_id is not None:
        where.append(retention_runs.c.tenant_id == tenant_id)
    conn.execute(update(retention_runs).where(*where).values(finished_at=utcnow(), **values))


def _finish_tenant(vault: Vault, report: RetentionReport, tenant_id: str, elapsed: float) -> None:
    assert report.run_id is not None
    counts = report.counts[tenant_id]
    with vault.transaction() as conn:
        _set_state(conn, report.run_id, tenant_id, state="done", counts=counts)
        # Sign-in rows outlive their use unless pruned: the next sign-in prunes them, and so does
        # retention, for a tenant nobody signs in to (Art. 5(1)(e)). Wall-clock, not ``as_of``:
        # they expire by the time they were made.
        now = utcnow()
        signed_in = prune_sign_in_codes(conn, tenant_id, now) + prune_web_sessions(
            conn, tenant_id, now
        )
        vault.audit(
            conn,
            tenant_id,
            AuditEntry(
                actor=ACTOR,
                action="retention.run",
                details={
                    "run_id": report.run_id,
                    "as_of": report.as_of.isoformat(),
                    "rules": report.rules[tenant_id],
                    "counts": counts,
                    "sign_in_rows_deleted": signed_in,
                    "elapsed_s": round(elapsed, 3),
                },
            ),
        )


def _fail(vault: Vault, report: RetentionReport, error: str) -> None:
    assert report.run_id is not None
    _evidence(vault, report, "error", error, failed=True)


def _evidence(
    vault: Vault,
    report: RetentionReport,
    outcome: str,
    error: str | None = None,
    *,
    failed: bool = False,
) -> None:
    """The operator's record of the run: rules applied, as-of, counts per kind, duration; a failed
    run's state commits with it."""
    totals = {kind: _kind_totals(report, kind) for kind in KINDS}
    with vault.transaction() as conn:
        if failed:
            assert report.run_id is not None
            _set_state(conn, report.run_id, None, state="failed", error=error)
        vault.audit(
            conn,
            OPERATOR,
            AuditEntry(
                actor=ACTOR,
                action="retention.run",
                outcome=outcome,
                reason=error,
                details={
                    "run_id": report.run_id,
                    "as_of": report.as_of.isoformat(),
                    "tenants": sorted(report.rules),
                    "rules": report.rules,
                    "counts": totals,
                    "duration_s": round(report.duration_s, 3),
                },
            ),
        )


def _kind_totals(report: RetentionReport, kind: str) -> dict[str, int]:
    totals: Counter[str] = Counter()
    for kinds in report.counts.values():
        totals.update(kinds.get(kind, {}))
    return dict(totals)


def _truncate_wal(vault: Vault) -> None:
    """SQLite keeps old page images in the WAL file until a checkpoint: flush and truncate it, so
    the deleted rows leave the disk now rather than at some later checkpoint (best effort)."""
    if vault.engine.dialect.name != "sqlite":
        return
    autocommit = vault.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
    with contextlib.suppress(Exception), autocommit as conn:  # a checkpoint runs outside a txn
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
