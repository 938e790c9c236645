"""Benchmark consent checks: callvault's consent_state (what the processing gate asks per decision)
beside a raw SELECT of the same row through the database driver, on SQLite and PostgreSQL.

    .venv/bin/python bench/consent.py [--rows N] [--backend sqlite|postgresql|both] [--pg URL]
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import arguments, backends, report, scratch_vault, timed

from callvault.consent.acts import consent_state, give_consent
from callvault.subjects.directory import create_subject
from callvault.tenants import add_tenant

RAW = (
    "SELECT record_id, state, state_at, expires_at, purpose_fingerprint, created_at "
    "FROM consent_records WHERE tenant_id = {p} AND subject_id = {p} AND purpose = {p} "
    "AND created_at <= {p} ORDER BY created_at DESC LIMIT 1"
)


def bench(backend: str, rows: int, pg: str) -> None:
    with scratch_vault(backend, pg) as vault:
        add_tenant(vault, "acme", name="Acme", collect=["name", "email", "call_history"])
        start = datetime.now(UTC) - timedelta(days=1)
        with vault.transaction() as conn:
            ids = [
                create_subject(
                    vault, conn, "acme", kind="user", values={"email": [f"p{i}@acme.dk"]}, now=start
                )
                for i in range(rows)
            ]
        given = ids[: rows // 2]  # half consented, half never asked: both paths are measured

        def ours_give() -> None:
            for subject_id in given:
                give_consent(
                    vault,
                    "acme",
                    subject_id,
                    "personalisation",
                    actor=f"subject:{subject_id}",
                    at=start,
                )

        def raw_give() -> None:  # one committed INSERT per act: each act is its own transaction
            for i, _ in enumerate(given):
                with vault.engine.begin() as conn:
                    conn.connection.cursor().execute(
                        f"INSERT INTO bench_raw VALUES ({_p(backend)})", (i,)
                    )

        with vault.engine.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE bench_raw (id integer primary key)")
        report(
            "give consent (+audit)", backend, "acts", len(given), timed(ours_give), timed(raw_give)
        )

        purpose, version, now = (
            vault.policy.purposes["personalisation"],
            vault.policy.version,
            (datetime.now(UTC)),
        )
        probes = (ids * (1 + 20000 // max(rows, 1)))[:20000]

        def ours_check() -> None:
            with vault.engine.connect() as conn:
                for subject_id in probes:
                    consent_state(conn, "acme", subject_id, purpose, version, now)

        naive = now.astimezone(UTC).replace(tzinfo=None)
        sql = RAW.format(p=_p(backend))

        def raw_check() -> None:
            with vault.engine.connect() as conn:
                cursor = conn.connection.cursor()
                for subject_id in probes:
                    cursor.execute(sql, ("acme", subject_id, "personalisation", naive))
                    cursor.fetchone()

        valid = 0
        with vault.engine.connect() as conn:
            for subject_id in ids:
                valid += consent_state(conn, "acme", subject_id, purpose, version, now).valid
        assert valid == len(given), (valid, len(given))
        report(
            "consent_state check",
            backend,
            "checks",
            len(probes),
            timed(ours_check),
            timed(raw_check),
        )
        vault.close()


def _p(backend: str) -> str:
    return "?" if backend == "sqlite" else "%s"


def main() -> None:
    args = arguments(__doc__ or "", rows=2000)
    for backend in backends(args.backend):
        bench(backend, args.rows, args.pg)


if __name__ == "__main__":
    main()
