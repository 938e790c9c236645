"""Benchmark the processing gate: warm decisions per second, and a purpose-bound read of a subject with
N call records beside the raw baseline (plain SELECT of the same rows plus decryption of the other
parties' numbers), on SQLite and PostgreSQL.

    .venv/bin/python bench/gate.py [--rows N] [--backend sqlite|postgresql|both] [--pg URL]

Targets (issue 4): over 200,000 decisions/s; read/raw ratio under 1.5.
"""

from __future__ import annotations

import os
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import and_, insert, or_, select

sys.path.insert(0, str(Path(__file__).parent))
from _common import arguments, backends, report, scratch_vault

from callvault.consent.acts import give_consent
from callvault.crypto.keyring import field_aad
from callvault.policy import CompiledPolicy, default_policy
from callvault.processing.context import rules_for
from callvault.processing.gate import GateContext, decide
from callvault.processing.reads import read_subject
from callvault.processing.support import open_session
from callvault.store.schema.core import calls, subject_identifiers, subjects
from callvault.subjects.directory import create_subject, new_id, subject_identifiers_of
from callvault.tenants import Agreement, Tenant, add_tenant
from callvault.vault import Vault

PARTIES = 300
REPEAT = 5
DECISIONS = 500_000


class Given:
    valid = True
    reason = "consent given"


def bench_decide() -> None:
    policy = CompiledPolicy.compile(default_policy())
    now = datetime.now(UTC)
    tenant = Tenant("acme", "Acme", tuple(sorted(policy.collectable)), Agreement("A", now, None))
    ctx = GateContext(rules_for(policy), {"personalisation": Given()})
    at = now + timedelta(hours=1)
    for _ in range(10_000):  # warm up
        decide("app", tenant, "s", "personalisation", None, at, ctx=ctx)

    def run() -> None:
        for _ in range(DECISIONS):
            decide("app", tenant, "s", "personalisation", None, at, ctx=ctx)

    elapsed = best(run)
    denied = decide("app", tenant, "s", "customer_service", None, at, ctx=ctx)
    assert not denied.allowed
    print(
        f"{'decide() warm':<28} {'memory':<10} callvault {DECISIONS / elapsed:>12,.0f} decisions/s"
    )


def populate(vault: Vault, rows: int) -> str:
    add_tenant(
        vault,
        "acme",
        name="Acme",
        collect=["name", "email", "phone", "call_history"],
        agreement_id="SSA-1",
        agreement_from=datetime(2026, 1, 1, tzinfo=UTC),
    )
    now = datetime.now(UTC)
    with vault.transaction() as conn:
        values = {"name": ["Alice A"], "email": ["alice@acme.dk"], "phone": ["+4522334455"]}
        alice = create_subject(vault, conn, "acme", kind="user", values=values, now=now)
        parties = [
            create_subject(
                vault, conn, "acme", kind="external", values={"phone": [f"+4528{i:06d}"]}, now=now
            )
            for i in range(PARTIES)
        ]
        start = now - timedelta(days=30)
        batch = []
        for i in range(rows):
            other = parties[i % PARTIES]
            inbound = i % 2 == 0
            batch.append(
                {
                    "tenant_id": "acme",
                    "call_id": new_id(),
                    "source_key": os.urandom(16),
                    "linked_key": None,
                    "started_at": start + timedelta(seconds=i * 60),
                    "answered_at": None,
                    "ended_at": None,
                    "duration_s": 30 + i % 300,
                    "billsec_s": 20 + i % 300,
                    "direction": "inbound" if inbound else "outbound",
                    "outcome": "answered",
                    "caller_subject_id": other if inbound else alice,
                    "callee_subject_id": alice if inbound else other,
                    "created_at": now,
                }
            )
        conn.execute(insert(calls), batch)
    give_consent(vault, "acme", alice, "personalisation", actor=f"subject:{alice}")
    open_session(
        vault, "acme", ticket="T-1", engineer="eve", hours=2, approved_by="tenant-admin:hr",
        subjects=[alice],
    )  # fmt: skip
    return alice


def raw_read(vault: Vault, alice: str) -> int:
    """The baseline: the same rows by plain SELECT, each row's other-party number decrypted."""
    c, si, s = calls.c, subject_identifiers.c, subjects.c
    rows_query = (
        select(
            c.started_at,
            c.direction,
            c.outcome,
            c.duration_s,
            c.billsec_s,
            c.caller_subject_id,
            c.callee_subject_id,
        )
        .where(c.tenant_id == "acme")
        .where(or_(c.caller_subject_id == alice, c.callee_subject_id == alice))
    )
    out = []
    with vault.engine.connect() as conn:
        subject_identifiers_of(vault, conn, "acme", alice)
        rows = conn.execute(rows_query).all()
        others = {
            r.callee_subject_id if r.caller_subject_id == alice else r.caller_subject_id
            for r in rows
        }
        keys_query = (
            select(si.subject_id, si.ciphertext)
            .join(subjects, and_(s.tenant_id == si.tenant_id, s.subject_id == si.subject_id))
            .where(si.tenant_id == "acme", si.kind == "phone", si.subject_id.in_(sorted(others)))
        )
        sealed = {r.subject_id: r.ciphertext for r in conn.execute(keys_query)}
        deks = vault.keyring.deks("acme", sealed)  # one key-store query, as the read does
        for row in rows:
            other = (
                row.callee_subject_id if row.caller_subject_id == alice else row.caller_subject_id
            )
            ciphertext, dek = sealed[other], deks[other]
            number = vault.keyring.decrypt(dek, ciphertext, field_aad("acme", other, "phone.0"))
            out.append((row.started_at, row.direction, row.outcome, row.duration_s, number))
    return len(out)


def best(work) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(REPEAT):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return min(times)


def bench_read(backend: str, rows: int, pg: str) -> None:
    with scratch_vault(backend, pg) as vault:
        alice = populate(vault, rows)

        def ours() -> None:
            answer = read_subject(vault, "acme", alice, "personalisation", "bench")
            assert len(answer["calls"]) == rows

        def pseudonymised() -> None:
            answer = read_subject(
                vault, "acme", alice, "error_diagnosis", "support:eve", ticket="T-1"
            )
            assert len(answer["calls"]) == rows

        def raw() -> None:
            assert raw_read(vault, alice) == rows

        ours(), pseudonymised(), raw()  # warm: caches, plans
        raw_time = best(raw)
        report("read personalisation", backend, "calls", rows, best(ours), raw_time)
        report("read error_diagnosis", backend, "calls", rows, best(pseudonymised), raw_time)
        vault.close()


def main() -> None:
    args = arguments(__doc__ or "", rows=10_000)
    bench_decide()
    for backend in backends(args.backend):
        bench_read(backend, args.rows, args.pg)


if __name__ == "__main__":
    main()
