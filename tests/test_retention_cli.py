"""``callvault retention run|status`` as a user runs them, including a run killed with SIGKILL."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import func, select

from callvault.clock import parse_instant
from callvault.retention.status import retention_status
from callvault.store.schema.core import calls
from callvault.store.schema.statistics import call_statistics
from callvault.vault import Vault
from clihelp import run_cli
from factories import (
    make_call,
    make_calls_bulk,
    make_external,
    make_tenant,
    make_user,
    make_users,
)

OLD = "2026-06-01T00:00:00+00:00"
NEW = "2026-12-20T10:00:00+00:00"
AS_OF = "2027-01-01"


def held(vault: Vault) -> tuple[int, int]:
    """(calls still held, calls counted in statistics)."""
    with vault.engine.connect() as conn:
        remaining = conn.scalar(select(func.count()).select_from(calls)) or 0
        counted = conn.scalar(select(func.coalesce(func.sum(call_statistics.c.calls), 0))) or 0
    return int(remaining), int(counted)


def test_status_is_loud_until_a_run_and_quiet_after(vault, cli_env, capsys):
    make_tenant(vault, "acme")
    user, ext = make_user(vault), make_external(vault)
    make_call(vault, caller_id=ext, callee_id=user, started_at=OLD)
    before = run_cli(capsys, "retention", "status", "--at", AS_OF, "--json")
    assert before.code == 6
    assert before.json()["ok"] is False
    assert before.json()["tenants"][0]["overdue"]["call_record"] == 1
    dry = run_cli(capsys, "retention", "run", "--as-of", AS_OF, "--dry-run", "--json")
    assert dry.json()["tenants"]["acme"]["counts"]["call_record"]["anonymised"] == 1
    assert held(vault) == (1, 0)
    done = run_cli(capsys, "retention", "run", "--as-of", AS_OF, "--json")
    assert done.code == 0
    assert done.json()["tenants"]["acme"]["counts"]["call_record"]["anonymised"] == 1
    after = run_cli(capsys, "retention", "status", "--at", AS_OF)
    assert after.code == 0
    assert "call_record" in after.out


def test_unknown_tenant_is_not_found(vault, cli_env, capsys):
    assert run_cli(capsys, "retention", "run", "--tenant", "nope").code == 4


def test_a_killed_run_is_finished_by_the_next(vault, cli_env, capsys):
    make_tenant(vault, "acme")
    users = make_users(vault, 7)  # every hour's cells have 7 people: kept after retention
    externals = [make_external(vault, phone=f"+45404040{i:02d}") for i in range(10)]
    parties = [(externals[i % 10], users[i % 7]) for i in range(70)]
    make_calls_bulk(vault, "acme", 20_000, start=OLD, step_s=30, parties=parties)
    make_calls_bulk(vault, "acme", 100, start=NEW, parties=[(users[0], externals[0])])
    command = [str(Path(sys.executable).with_name("callvault")), "retention", "run"]
    process = subprocess.Popen([*command, "--as-of", AS_OF, "--batch-size", "200"])
    deadline = time.monotonic() + 120
    while held(vault)[1] == 0 and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    assert process.wait() == -signal.SIGKILL
    remaining, counted = held(vault)
    assert remaining + counted == 20_100  # every batch committed whole or not at all
    killed = retention_status(vault, at=parse_instant(AS_OF, field="at"))
    assert killed.tenants[0].overdue["call_record"] > 0  # the kill landed in the middle
    assert not killed.ok and killed.tenants[0].last_run["state"] == "running"

    assert run_cli(capsys, "retention", "run", "--as-of", AS_OF).code == 0
    status = run_cli(capsys, "retention", "status", "--at", AS_OF, "--json")
    assert status.code == 0 and status.json()["ok"] and status.json()["overdue"] == 0
    assert held(vault) == (100, 20_000)
    assert run_cli(capsys, "audit", "verify").code == 0
