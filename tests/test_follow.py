"""Following a growing Master.csv: rotation, truncation, bad lines, SIGTERM, and SIGKILL at any
moment followed by a restart: every record stored exactly once, none lost."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import func, select

from callvault import follow_calls
from callvault.accountability.audit import entries
from callvault.store.schema.core import calls
from ingesthelp import count, setup_acme
from masterwriter import line

SCRIPT = str(Path(sys.executable).with_name("callvault"))
WRITER = str(Path(__file__).with_name("masterwriter.py"))


def _append(path: Path, numbers: range) -> None:
    with path.open("a") as out:
        out.write("".join(line(n) for n in numbers))


def _follow(vault, path: Path, **options):  # type: ignore[no-untyped-def]
    return follow_calls(vault, "acme", path, format="asterisk-csv", until_idle=0, **options)


def _distinct(vault) -> int:  # type: ignore[no-untyped-def]
    with vault.engine.connect() as conn:
        return conn.scalar(select(func.count(func.distinct(calls.c.source_key)))) or 0


def _batches(vault) -> list[dict]:  # type: ignore[type-arg,no-untyped-def]
    with vault.engine.connect() as conn:
        return [e["details"] for e in entries(conn, "acme", action="collect.calls")]


def test_new_lines_rotation_and_truncation(vault, tmp_path):
    setup_acme(vault)
    master = tmp_path / "Master.csv"
    _append(master, range(0, 5))
    assert _follow(vault, master).stored == 5
    _append(master, range(5, 8))
    master.rename(tmp_path / "Master.csv.1")  # rotated while callvault was not running
    _append(master, range(8, 10))
    assert _follow(vault, master).stored == 5  # the old file's last 3, then the new file's 2
    master.write_text("")  # truncated (copytruncate)
    _append(master, range(10, 11))
    report = _follow(vault, master)
    assert (report.stored, report.duplicates) == (1, 0)
    assert count(vault) == _distinct(vault) == 11
    assert sum(b["duplicates"] for b in _batches(vault)) == 0  # nothing was read twice


def test_partial_line_waits_for_its_newline(vault, tmp_path):
    setup_acme(vault)
    master = tmp_path / "Master.csv"
    text = line(0) + line(1)
    master.write_text(text[:-20])
    assert _follow(vault, master).stored == 1
    with master.open("a") as out:
        out.write(text[-20:])
    assert _follow(vault, master).stored == 1 and count(vault) == 2


def test_bad_line_goes_to_rejects_and_following_goes_on(vault, tmp_path):
    setup_acme(vault)
    master = tmp_path / "Master.csv"
    _append(master, range(0, 2))
    _follow(vault, master)
    bad = line(2).replace(",60,55,", ",60,+4599887766,")
    with master.open("a") as out:
        out.write(bad + line(3))
    report = _follow(vault, master)
    assert (report.stored, report.rejected) == (1, 1)
    [entry] = [json.loads(x) for x in Path(f"{master}.rejects").read_text().splitlines()]
    assert entry["line"] == 3 and "billsec" in entry["reason"]  # the file's line, not the batch's
    assert "4599887766" not in Path(f"{master}.rejects").read_text()


def _follower(path: Path, *extra: str) -> subprocess.Popen[str]:
    args = [SCRIPT, "ingest", "calls", "--tenant", "acme", "--format", "asterisk-csv", "--json"]
    return subprocess.Popen(
        [*args, "--follow", str(path), *extra],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def test_sigterm_ends_after_the_current_batch(vault, cli_env):
    setup_acme(vault)
    master = cli_env / "Master.csv"
    _append(master, range(0, 50))
    proc = _follower(master)
    deadline = time.monotonic() + 60
    while count(vault) < 50 and time.monotonic() < deadline:
        time.sleep(0.1)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert json.loads(out)["stored"] == 50


def test_writer_rotating_and_follower_killed_at_random_points(vault, cli_env):
    """A writer appends 300 lines at 100/s, rotating every 70; the follower is SIGKILLed four
    times at random moments and restarted; at the end every line is stored exactly once."""
    setup_acme(vault)
    master, total = cli_env / "Master.csv", 300
    _append(master, range(0, 1))
    _follow(vault, master)  # the checkpoint exists: files rotated from now on are all read
    args = [str(master), str(total - 1), "100", "70", "1"]
    writer = subprocess.Popen([sys.executable, WRITER, *args])
    rng = random.Random(os.getpid())
    try:
        for _ in range(4):
            follower = _follower(master)
            time.sleep(rng.uniform(0.8, 2.0))
            follower.kill()
            follower.wait(timeout=30)
        assert writer.wait(timeout=60) == 0
    finally:
        writer.kill()
    last = _follower(master, "--until-idle", "2")
    _out, err = last.communicate(timeout=120)
    assert last.returncode == 0, err
    assert count(vault) == _distinct(vault) == total
    batches = _batches(vault)
    assert sum(b["stored"] for b in batches) == total  # no committed batch was lost
    assert sum(b["duplicates"] for b in batches) == 0  # and no line was read twice
    assert len(list(cli_env.glob("Master.csv.*"))) == total // 70
