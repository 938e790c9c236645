"""Real SIP calls through Debian's Kamailio (dialog + acc) placed by SIPp, followed into the vault.

N calls (answered, busy, unanswered, cancelled) end as N call records with the right direction,
outcome and duration, their parties as subjects, and no Call-ID, tag, IP address or URI stored
anywhere (checked in the raw database bytes). Killing the follower with SIGKILL at random moments
while calls are placed, then restarting it, stores every call exactly once.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
from siplab import Lab, require_tools
from sqlalchemy import select

from callvault import follow_calls
from callvault.accountability.audit import entries
from callvault.store.schema.core import calls
from ingesthelp import dump, externals, setup_acme

SCRIPT = str(Path(sys.executable).with_name("callvault"))
#: behaviour, caller, callee, number of calls; the caller's last digit picks the behaviour
PLAN = [
    ("answer", "+4550505051", "201", 2),  # inbound, answered by Alice
    ("answer", "201", "+4540404041", 1),  # outbound, answered
    ("busy", "+4550505052", "202", 2),  # inbound, Bob busy
    ("noanswer", "+4550505053", "201", 2),  # inbound, rings out
    ("ring", "+4550505054", "201", 2),  # inbound, cancelled by the caller
]
N = sum(n for *_, n in PLAN)


@pytest.fixture
def lab(tmp_path):  # type: ignore[no-untyped-def]
    require_tools()
    running = Lab(tmp_path, calls_each=20)
    yield running
    running.stop()


def _place(lab: Lab, rounds: int = 1) -> None:
    for _ in range(rounds):
        for behaviour, caller, callee, count in PLAN:
            done = lab.call(behaviour, caller, callee, count)
            assert done.returncode == 0, (behaviour, done.stdout[-2000:], lab.root)


def _rows(vault):  # type: ignore[no-untyped-def]
    with vault.engine.connect() as conn:
        return conn.execute(select(calls)).all()


def test_sipp_calls_through_kamailio_become_call_records(vault, lab):
    alice, bob = setup_acme(vault)
    _place(lab)
    time.sleep(0.5)  # the last BYE's dialog CDR
    assert (lab.rows("acc_cdrs"), lab.rows("missed_calls")) == (3, 6)
    report = follow_calls(vault, "acme", f"sqlite:///{lab.db}", format="kamailio-acc",
                          utc=True, until_idle=0)  # fmt: skip
    assert (report.stored, report.rejected) == (N, 0)
    rows = _rows(vault)
    seen = Counter((r.direction, r.outcome) for r in rows)
    assert seen == {("inbound", "answered"): 2, ("outbound", "answered"): 1,
                    ("inbound", "busy"): 2, ("inbound", "no_answer"): 4}  # fmt: skip
    for row in rows:
        assert row.caller_subject_id and row.callee_subject_id  # parties are subjects
        if row.outcome == "answered":
            assert 1 <= row.duration_s <= 3 and row.answered_at is not None
        else:
            assert row.duration_s == 0 and row.answered_at is None
    assert {r.callee_subject_id for r in rows if r.outcome == "busy"} == {bob}
    assert externals(vault) == 5  # four external callers and one external callee
    raw = dump(vault)
    for trace in (b"SIPpTag", b"UAS", b"127.0.0.1", b"sip:", b"@127", b"callvault-live-test"):
        assert trace not in raw, trace
    assert alice


def _follower(url: str) -> subprocess.Popen[bytes]:
    args = [SCRIPT, "ingest", "calls", "--tenant", "acme", "--format", "kamailio-acc", "--utc"]
    return subprocess.Popen([*args, "--follow", url], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)  # fmt: skip


def test_follower_killed_at_random_moments_stores_every_call_once(vault, lab, cli_env):
    setup_acme(vault)
    url = f"sqlite:///{lab.db}"
    caller = threading.Thread(target=_place, args=(lab, 2))
    caller.start()
    rng = random.Random(os.getpid())
    try:
        for _ in range(3):
            follower = _follower(url)
            time.sleep(rng.uniform(1.0, 2.5))
            follower.kill()
            follower.wait(timeout=30)
    finally:
        caller.join(timeout=180)
    assert not caller.is_alive()
    time.sleep(0.5)
    report = follow_calls(vault, "acme", url, format="kamailio-acc", utc=True, until_idle=0)
    assert report.rejected == 0
    assert lab.rows("acc_cdrs") + lab.rows("missed_calls") == 2 * N, lab.root
    assert len(_rows(vault)) == 2 * N
    with vault.engine.connect() as conn:
        batches = [e["details"] for e in entries(conn, "acme", action="collect.calls")]
    assert sum(b["stored"] for b in batches) == 2 * N
    assert sum(b["duplicates"] for b in batches) == 0  # no row was read twice
