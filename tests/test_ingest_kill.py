"""A kill in the middle of an ingest leaves the vault as before; a re-run completes, no duplicates.

Ingest commits one transaction per file, so after SIGKILL nothing of that file is held.
"""

import json
import os
import signal
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

from ingesthelp import count, externals, setup_acme

ROWS = 40_000
SCRIPT = str(Path(sys.executable).with_name("callvault"))


def _master_csv(path: Path) -> None:
    first = date.today() - timedelta(days=12)  # within the call-record period: all stored
    with path.open("w") as out:
        for n in range(ROWS):
            src, dst = (f"+4526{n % 5000:06d}", "201") if n % 2 else ("202", f"+4527{n % 7000:06d}")
            minute, second = divmod(n % 3600, 60)
            at = f"{first + timedelta(days=n // 3600 % 9)} 1{n % 10}:{minute:02d}:{second:02d}"
            out.write(
                f'"","{src}","{dst}","ctx","""X"" <{src}>","PJSIP/a","PJSIP/b","Dial","x",'
                f'"{at}","{at}","{at}",60,55,"ANSWERED","DOCUMENTATION","{n}.1","","",'
                f'"{n}.1",{n}\n'
            )


def _ingest(path: Path) -> subprocess.Popen[str]:
    args = [SCRIPT, "ingest", "calls", "--tenant", "acme", "--format", "asterisk-csv", "--json"]
    return subprocess.Popen(
        [*args, str(path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def _read_share(pid: int, path: Path) -> float:
    """How far the process has read ``path`` (0..1), from its open file's offset in /proc."""
    try:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            if os.readlink(fd) == str(path.resolve()):
                pos = int((Path(f"/proc/{pid}/fdinfo") / fd.name).read_text().split()[1])
                return pos / path.stat().st_size
    except (FileNotFoundError, ProcessLookupError):
        pass
    return 0.0


def test_kill_mid_ingest_then_rerun(vault, cli_env):
    setup_acme(vault)
    source = cli_env / "Master.csv"
    _master_csv(source)
    proc = _ingest(source)
    while proc.poll() is None and _read_share(proc.pid, source) < 0.4:  # batches are in
        time.sleep(0.01)
    assert proc.poll() is None, "the ingest finished before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert count(vault) == 0 and externals(vault) == 0  # one transaction per file: nothing
    rerun = _ingest(source)
    out, err = rerun.communicate(timeout=600)
    assert rerun.returncode == 0, err
    assert json.loads(out)["stored"] == ROWS and count(vault) == ROWS
    again = _ingest(source)
    out, err = again.communicate(timeout=600)
    assert json.loads(out) | {"dropped_fields": {}} == {
        "stored": 0, "duplicates": ROWS, "rejected": 0, "dropped_fields": {},
        "unparsed_numbers": 0,
        "expired_on_arrival": 0,
    }  # fmt: skip
    assert count(vault) == ROWS
