"""Write transactions that hold: 4 processes x 200 mixed operations on one vault, on SQLite and
PostgreSQL, end with 0 errors, exact counts and an audit chain that verifies (issue 11)."""

from __future__ import annotations

import io
import multiprocessing
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from callvault.accountability.audit import verify_audit
from callvault.collection.ingest.calls import ingest_calls
from callvault.consent.acts import give_consent, withdraw_consent
from callvault.crypto.master_key import MasterKey
from callvault.processing.reads import read_subject
from callvault.retention.run import run_retention
from callvault.store.schema.core import audit_log, calls
from callvault.vault import Vault
from factories import make_tenant, make_user

WORKERS, OPERATIONS = 4, 200


def _call_line(worker: int, n: int) -> bytes:
    start = datetime.now(UTC) - timedelta(hours=2, minutes=n)
    return (
        f'{{"id": "w{worker}-{n}", "start": "{start.isoformat()}", "duration": 30, '
        f'"billsec": 25, "caller": "201", "callee": "+4540404040", "outcome": "answered"}}\n'
    ).encode()


def _work(args: tuple[str, bytes, int, str, str]) -> tuple[int, int, list[str]]:
    """One process: its share of reads, consent acts, ingests and retention runs."""
    url, key, worker, alice, bob = args
    vault = Vault.open(url, master_key=MasterKey(key, source="test"))
    ingested, errors = 0, []
    try:
        for n in range(OPERATIONS):
            try:
                kind = n % 10
                if kind < 5:
                    read_subject(vault, "acme", alice, "personalisation", "service:app")
                elif kind == 5:
                    give_consent(vault, "acme", bob, "personalisation", actor=f"subject:{bob}")
                elif kind == 6:
                    withdraw_consent(vault, "acme", bob, "personalisation", actor=f"subject:{bob}")
                elif kind in (7, 8):
                    report = ingest_calls(vault, "acme", io.BytesIO(_call_line(worker, n)),
                                          format="jsonl")  # fmt: skip
                    ingested += report.stored
                else:
                    run_retention(vault, tenant="acme")
            except Exception as exc:  # every error counts: the test expects none
                errors.append(f"{n % 10}: {type(exc).__name__}: {exc}")
    finally:
        vault.close()
    return worker, ingested, errors


def test_four_processes_of_mixed_operations(vault, db_url, master_key_bytes):
    make_tenant(vault)
    alice = make_user(vault)
    bob = make_user(vault, name="Bob Berg", email="bob@acme.dk", phone="+4522334466",
                    extension="202")  # fmt: skip
    give_consent(vault, "acme", alice, "personalisation", actor=f"subject:{alice}")
    with vault.engine.connect() as conn:
        entries_before = conn.scalar(select(func.count()).select_from(audit_log))

    context = multiprocessing.get_context("spawn")
    jobs = [(db_url, master_key_bytes, w, alice, bob) for w in range(WORKERS)]
    with context.Pool(WORKERS) as pool:
        results = pool.map(_work, jobs, chunksize=1)

    errors = [e for _, _, worker_errors in results for e in worker_errors]
    assert errors == []
    ingested = sum(stored for _, stored, _ in results)
    assert ingested == WORKERS * OPERATIONS // 10 * 2  # every ingest stored its one call
    with vault.engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(calls)) == ingested
        entries = conn.scalar(select(func.count()).select_from(audit_log))
    assert entries - entries_before >= WORKERS * OPERATIONS  # every operation left its entry
    assert verify_audit(vault).ok
