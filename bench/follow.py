"""Benchmark: following live sources (``ingest calls --follow``) vs a raw-database baseline.

    .venv/bin/python bench/follow.py [--rate 1000] [--seconds 10] [--calls-rate 20]
                                     [--backend sqlite|postgresql|both]

1. **Master.csv**: a writer thread appends real-format Asterisk lines at ``--rate`` lines/s for
   ``--seconds`` (bounded) while ``follow_calls`` follows the file into a fresh vault. Prints the
   rate sustained (lines stored / time from the first write to the last commit), the lag from a
   line's write to the commit of its batch (p50/p99), and, as the baseline, the rate of a raw
   insert of the same parsed lines into a table shaped like ``calls`` (no gate, no crypto); the
   ratio is callvault's time per line at the offered load over the raw insert's time per line.
2. **Kamailio** (when ``kamailio`` and ``sipp`` are installed): SIPp places answered calls through
   Kamailio at ``--calls-rate`` calls/s for ``--seconds`` on 127.0.0.1 while callvault follows its
   accounting database. Prints calls/s stored, the lag from the dialog CDR's end (whole seconds, as
   Kamailio stores it) to its commit (p50/p99), and the rate of a raw ``INSERT ... SELECT`` of the
   same rows into a table in the vault's database as the baseline.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from _common import arguments, backends, scratch_vault
from ingest import run_raw, setup_tenant

from callvault.collection.ingest.follow import follow_calls

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "tests" / "live")]
from masterwriter import line  # noqa: E402 - test helpers, found through the path above


def _percentiles(lags: list[float]) -> str:
    if not lags:
        return "no lag measured"
    cuts = statistics.quantiles(lags, n=100) if len(lags) > 1 else [lags[0]] * 99
    return f"lag p50 {cuts[49] * 1000:8.0f} ms   p99 {cuts[98] * 1000:8.0f} ms"


def follow_master(backend: str, pg: str, rate: float, seconds: float) -> None:
    total = int(rate * seconds)
    with (
        tempfile.TemporaryDirectory() as folder,
        _keys(folder),
        scratch_vault(backend, pg) as vault,
    ):
        setup_tenant(vault)
        master = Path(folder) / "Master.csv"
        written: list[float] = []
        commits: list[tuple[int, float]] = []  # (lines stored so far, commit time)

        def write() -> None:
            began = time.perf_counter()
            with master.open("a") as out:
                for n in range(total):
                    out.write(line(n))
                    out.flush()
                    written.append(time.perf_counter())
                    time.sleep(max(0.0, began + (n + 1) / rate - time.perf_counter()))

        writer = threading.Thread(target=write)
        writer.start()
        stored = [0]

        def batch(report: object) -> None:
            stored[0] += getattr(report, "stored", 0)
            commits.append((stored[0], time.perf_counter()))

        follow_calls(vault, "bench", master, format="asterisk-csv", until_idle=2.0,
                     stop=lambda: not writer.is_alive() and stored[0] >= total,
                     on_batch=batch, poll=0.05)  # fmt: skip
        writer.join()
        lags, k = [], 0
        for upto, at in commits:
            while k < upto and k < len(written):
                lags.append(at - written[k])
                k += 1
        span = commits[-1][1] - written[0] if commits else float("nan")
        raw_s, raw_n = run_raw(str(vault.engine.url.render_as_string(hide_password=False)), master)
        print(f"Master.csv follow  {backend:<10} callvault {stored[0] / span:8,.0f} lines/s "
              f"(offered {rate:,.0f})   {_percentiles(lags)}   raw insert {raw_n / raw_s:10,.0f} "
              f"lines/s   ratio {(span / stored[0]) / (raw_s / raw_n):6.2f}")  # fmt: skip


def follow_kamailio(backend: str, pg: str, rate: float, seconds: float) -> None:
    from siplab import Lab

    count = int(rate * seconds)
    with (
        tempfile.TemporaryDirectory() as folder,
        _keys(folder),
        scratch_vault(backend, pg) as vault,
    ):
        setup_tenant(vault)
        lab = Lab(Path(folder), calls_each=count)
        try:
            url = f"sqlite:///{lab.db}"
            commits: list[tuple[int, float]] = []
            stored = [0]

            def batch(report: object) -> None:
                stored[0] += getattr(report, "stored", 0)
                commits.append((stored[0], time.time()))

            caller = threading.Thread(
                target=lab.call,
                args=("answer", "+4550505051", "201", count),
                kwargs={"rate": rate, "talk_ms": 100},
            )
            began = time.time()
            caller.start()
            follow_calls(vault, "bench", url, format="kamailio-acc", utc=True, until_idle=3.0,
                         stop=lambda: not caller.is_alive() and stored[0] >= count,
                         on_batch=batch, poll=0.05)  # fmt: skip
            caller.join()
            with sqlite3.connect(lab.db) as conn:
                ends = [
                    _unix(v) for (v,) in conn.execute("SELECT end_time FROM acc_cdrs ORDER BY id")
                ]
            lags, k = [], 0
            for upto, at in commits:
                while k < upto and k < len(ends):
                    lags.append(max(0.0, at - ends[k]))
                    k += 1
            span = (commits[-1][1] - began) if commits else float("nan")
            raw_s = _raw_insert_select(vault.engine, lab.db)
        finally:
            lab.stop()
        print(f"Kamailio follow    {backend:<10} callvault {stored[0] / span:8,.1f} calls/s "
              f"(offered {rate:,.0f})   {_percentiles(lags)}   raw INSERT...SELECT "
              f"{len(ends) / raw_s:10,.0f} rows/s   stored {stored[0]}/{count}")  # fmt: skip


@contextmanager
def _keys(folder: str) -> Iterator[None]:
    """A key store of its own for each scratch vault (one key store belongs to one vault)."""
    before = os.environ.get("CALLVAULT_KEYSTORE")
    os.environ["CALLVAULT_KEYSTORE"] = f"sqlite:///{folder}/keys.db"
    try:
        yield
    finally:
        if before is None:
            del os.environ["CALLVAULT_KEYSTORE"]
        else:
            os.environ["CALLVAULT_KEYSTORE"] = before


def _unix(julian: float) -> float:
    return 86400.0 * (julian - 2440587.5) + 0.5


def _raw_insert_select(engine: object, db: Path) -> float:
    """The rows copied as they are into the vault's database: INSERT ... SELECT on SQLite (with
    Kamailio's database attached), else rows fetched and inserted with executemany."""
    from sqlalchemy import text

    with sqlite3.connect(db) as source:
        rows = source.execute("SELECT id, start_time, end_time, duration FROM acc_cdrs").fetchall()
    began = time.perf_counter()
    with engine.begin() as conn:  # type: ignore[attr-defined]
        conn.execute(text("DROP TABLE IF EXISTS raw_cdrs"))
        conn.execute(text("CREATE TABLE raw_cdrs (id INTEGER PRIMARY KEY, start_time FLOAT, "
                          "end_time FLOAT, duration FLOAT)"))  # fmt: skip
        if conn.dialect.name == "sqlite":
            conn.execute(text(f"ATTACH DATABASE '{db}' AS kam"))
            conn.execute(text("INSERT INTO raw_cdrs SELECT id, start_time, end_time, duration "
                              "FROM kam.acc_cdrs"))  # fmt: skip
        else:
            conn.execute(text("INSERT INTO raw_cdrs VALUES (:a, :b, :c, :d)"),
                         [dict(zip("abcd", row, strict=True)) for row in rows])  # fmt: skip
    elapsed = time.perf_counter() - began
    if engine.dialect.name == "sqlite":  # type: ignore[attr-defined]
        with engine.begin() as conn:  # type: ignore[attr-defined]
            conn.execute(text("DETACH DATABASE kam"))
    return elapsed


def main() -> None:
    import argparse

    extra = argparse.ArgumentParser(add_help=False)
    extra.add_argument("--rate", type=float, default=1000.0)
    extra.add_argument("--seconds", type=float, default=10.0)
    extra.add_argument("--calls-rate", type=float, default=20.0)
    options, rest = extra.parse_known_args()
    sys.argv[1:] = rest
    args = arguments(__doc__ or "", rows=0)
    print(f"started {datetime.now(UTC):%Y-%m-%dT%H:%M:%SZ}")
    for backend in backends(args.backend):
        follow_master(backend, args.pg, options.rate, options.seconds)
    if shutil.which("kamailio") and shutil.which("sipp"):
        for backend in backends(args.backend):
            follow_kamailio(backend, args.pg, options.calls_rate, options.seconds)
    else:
        print("Kamailio follow    skipped: kamailio or sipp not installed")


if __name__ == "__main__":
    main()
