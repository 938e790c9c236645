"""Scheduled retention and consent expiry: at most once per period, never twice at once (a
PostgreSQL advisory lock, a lock row on SQLite), shown in retention status and the audit log."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from callvault import retention_status, run_scheduled
from callvault.accountability.audit import entries
from callvault.api import create_app
from callvault.retention.schedule import schedule_lock
from callvault.store.audit_chain import OPERATOR
from factories import make_tenant

DAY = timedelta(days=1)
NOW = datetime(2026, 12, 1, 3, tzinfo=UTC)


def _runs(vault) -> list[dict]:  # type: ignore[no-untyped-def,type-arg]
    with vault.engine.connect() as conn:
        return list(entries(conn, OPERATOR, action="schedule.run"))


def test_runs_once_per_period_and_shows_in_status_and_audit(vault) -> None:  # type: ignore[no-untyped-def]
    make_tenant(vault, "acme")
    first = run_scheduled(vault, every=DAY, now=NOW)
    assert first is not None and first["as_of"] == NOW.isoformat()
    assert run_scheduled(vault, every=DAY, now=NOW + timedelta(hours=23)) is None
    status = retention_status(vault, at=NOW, tenant="acme").as_dict()
    assert status["tenants"][0]["last_run"]["run_id"] == first["run_id"]
    assert [e["outcome"] for e in _runs(vault)] == ["ok"]
    assert run_scheduled(vault, every=DAY, now=NOW + DAY) is not None
    assert len(_runs(vault)) == 2


def test_a_held_lock_skips_the_run(vault) -> None:  # type: ignore[no-untyped-def]
    make_tenant(vault, "acme")
    with schedule_lock(vault, "other-server", NOW) as held:
        assert held
        assert run_scheduled(vault, every=DAY, now=NOW) is None
    assert run_scheduled(vault, every=DAY, now=NOW) is not None


def test_two_servers_at_once_run_it_once(vault) -> None:  # type: ignore[no-untyped-def]
    make_tenant(vault, "acme")
    results: list[object] = []
    start = threading.Barrier(2)

    def server(name: str) -> None:
        start.wait()
        results.append(run_scheduled(vault, every=DAY, holder=name, now=NOW))

    threads = [threading.Thread(target=server, args=(f"s{i}",)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sum(r is not None for r in results) == 1 and len(results) == 2
    assert len(_runs(vault)) == 1


def test_serve_runs_the_schedule(vault) -> None:  # type: ignore[no-untyped-def]
    make_tenant(vault, "acme")
    with TestClient(create_app(vault, schedule_every=DAY)) as client:
        assert client.get("/healthz").status_code == 200
        deadline = time.monotonic() + 20
        while not _runs(vault) and time.monotonic() < deadline:
            time.sleep(0.1)
    assert [e["actor"] for e in _runs(vault)] == ["operator:scheduler"]
