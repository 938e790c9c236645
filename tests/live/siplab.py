"""A SIP lab on 127.0.0.1: Debian's Kamailio (dialog + acc into SQLite) and SIPp user agents.

Kamailio routes each call by the caller's last digit to one of four SIPp UAS (see
``kamailio.cfg.tmpl``): 1 answers, 2 is busy, 3 rings and gives up, 4 rings until cancelled. Every
process is started with a time limit and stopped at the end; all traffic stays on loopback.
"""

from __future__ import annotations

import os
import shutil
import socket
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

HERE = Path(__file__).parent
SCENARIOS = HERE / "scenarios"
SCHEMA = Path("/usr/share/kamailio/db_sqlite")
MODULES = Path("/usr/lib/x86_64-linux-gnu/kamailio/modules")
BEHAVIOURS = ("answer", "busy", "noanswer", "ring")  # caller's last digit 1, 2, 3, 4
UAC = {"answer": "uac_answer.xml", "busy": "uac_fail.xml", "noanswer": "uac_fail.xml",
       "ring": "uac_cancel.xml"}  # fmt: skip
#: the extra columns of db_extra / cdr_extra in kamailio.cfg.tmpl
EXTRA = {
    "acc": ("src_user", "src_domain", "src_ip", "dst_ouser", "dst_user", "dst_domain"),
    "missed_calls": ("src_user", "src_domain", "src_ip", "dst_ouser", "dst_user", "dst_domain"),
    "acc_cdrs": ("src_user", "dst_user", "callid"),
}


def require_tools() -> None:
    """Skip when Kamailio or SIPp is missing, unless CALLVAULT_REQUIRE_LIVE=1 (then fail)."""
    missing = [tool for tool in ("kamailio", "sipp") if shutil.which(tool) is None]
    missing += [] if (MODULES / "db_sqlite.so").exists() else ["kamailio-sqlite-modules"]
    missing += [] if (SCHEMA / "acc-create.sql").exists() else ["kamailio's db_sqlite schema"]
    if missing:
        message = f"live SIP tests need {', '.join(missing)} (apt-get install kamailio " \
                  "kamailio-sqlite-modules sip-tester)"  # fmt: skip
        if os.environ.get("CALLVAULT_REQUIRE_LIVE") == "1":
            pytest.fail(message)
        pytest.skip(message)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def accounting_db(path: Path) -> Path:
    """Kamailio's accounting tables, made by its own db_sqlite scripts plus the extra columns."""
    script = (SCHEMA / "standard-create.sql").read_text() + (SCHEMA / "acc-create.sql").read_text()
    for table, columns in EXTRA.items():
        script += "".join(
            f"ALTER TABLE {table} ADD COLUMN {c} VARCHAR(255) DEFAULT '' NOT NULL;\n"
            for c in columns
        )
    with sqlite3.connect(path) as conn:
        conn.executescript(script)
        # db_sqlite sets no busy timeout: in the default journal mode a reader (callvault
        # following) can make one of Kamailio's inserts fail with SQLITE_BUSY. WAL lets readers
        # and the writer go on together; the mode stays with the file (README, "Live feeds").
        conn.execute("PRAGMA journal_mode=WAL")
    return path


def _bound(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def free_ports(count: int) -> list[int]:
    """``count`` distinct free ports (a port probed free can be taken again before it is used)."""
    ports: list[int] = []
    while len(ports) < count:
        port = free_port()
        if port not in ports:
            ports.append(port)
    return ports


class Lab:
    def __init__(self, root: Path, calls_each: int) -> None:
        self.root, self.db = root, accounting_db(root / "kamailio.db")
        self.procs: list[subprocess.Popen[bytes]] = []
        # A port found free may be bound by another process before Kamailio or SIPp binds it
        # ("Address already in use"): start again on other ports, a bounded number of times.
        for attempt in range(3):
            try:
                self._launch(calls_each)
                return
            except RuntimeError:
                self.stop()
                self.procs = []
                if attempt == 2:
                    raise

    def _launch(self, calls_each: int) -> None:
        self.port, *others = free_ports(1 + len(BEHAVIOURS))
        self.uas_ports = dict(zip(BEHAVIOURS, others, strict=True))
        config = (HERE / "kamailio.cfg.tmpl").read_text()
        for key, value in (("PORT", self.port), ("DB", self.db),
                           *((b.upper(), p) for b, p in self.uas_ports.items())):  # fmt: skip
            config = config.replace(f"@{key}@", str(value))
        (self.root / "kamailio.cfg").write_text(config)
        root = self.root
        self._start(["kamailio", "-f", str(root / "kamailio.cfg"), "-DD", "-E", "-w", str(root),
                     "-Y", str(root), "-P", str(root / "kamailio.pid")], "kamailio.log")  # fmt: skip
        for behaviour, port in self.uas_ports.items():
            self._start(self._sipp(f"uas_{behaviour}.xml", port, "-m", str(calls_each)),
                        f"uas_{behaviour}.log")  # fmt: skip
        self._wait_bound([self.port, *self.uas_ports.values()])

    def _sipp(self, scenario: str, port: int, *args: str) -> list[str]:
        return ["sipp", "-sf", str(SCENARIOS / scenario), "-i", "127.0.0.1", "-p", str(port),
                "-nostdin", "-timeout", "60s", *args]  # fmt: skip

    def _start(self, args: list[str], log: str) -> None:
        with (self.root / log).open("wb") as out:
            self.procs.append(subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT,
                                               cwd=self.root))  # fmt: skip

    def _wait_bound(self, ports: list[int]) -> None:
        deadline = time.monotonic() + 15
        while not all(map(_bound, ports)):
            if time.monotonic() > deadline or any(p.poll() is not None for p in self.procs):
                raise RuntimeError("Kamailio or SIPp did not start: see " + str(self.root))
            time.sleep(0.1)
        # A port bound by someone else looks bound too: the process that failed to bind it exits.
        time.sleep(0.5)
        if any(p.poll() is not None for p in self.procs):
            raise RuntimeError("Kamailio or SIPp did not start: see " + str(self.root))

    def call(self, behaviour: str, caller: str, callee: str, count: int, *, rate: float = 10,
             talk_ms: int = 1000) -> subprocess.CompletedProcess[bytes]:  # fmt: skip
        """Place ``count`` calls of one behaviour through Kamailio (a UAC, bounded in time)."""
        args = self._sipp(UAC[behaviour], free_port(), "-m", str(count), "-r", str(rate),
                          "-s", callee, "-key", "caller", caller, "-d", str(talk_ms),
                          "-timeout_error")  # fmt: skip
        return subprocess.run([*args[:1], f"127.0.0.1:{self.port}", *args[1:]], cwd=self.root,
                              capture_output=True, timeout=90, check=False)  # fmt: skip

    def rows(self, table: str) -> int:
        with sqlite3.connect(self.db) as conn:
            return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])

    def stop(self) -> None:
        for proc in reversed(self.procs):
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
