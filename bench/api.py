"""Benchmark the HTTP API: a purpose-bound read of a subject with 100 calls through ``/api/v1``
(bearer token, processing gate, decryption, audit entry), against a bare route on the same server
that runs the raw SELECT of those 100 calls; N concurrent clients on loopback, bounded in time.

    .venv/bin/python bench/api.py [--clients N] [--seconds S] [--backend sqlite|postgresql|both]

The server (uvicorn, one process) runs in a child process on 127.0.0.1; the clients are threads with
keep-alive connections (httpx). Prints requests/s and p50/p99 latency of each route and the ratio
of their mean times per request (callvault / raw).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import socket
import statistics
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
import httpx
from _common import DEFAULT_PG, backends, scratch_vault
from sqlalchemy import or_, select

from callvault import Vault, create_token, give_consent, ingest_calls, ingest_subjects
from callvault.api import create_app
from callvault.store.schema.core import calls

CALLS = 100


def _world(vault: Vault, folder: Path) -> tuple[str, str]:
    from callvault import add_tenant

    now = datetime.now(UTC).replace(microsecond=0)
    add_tenant(vault, "acme", name="Acme", collect=["name", "email", "phone", "call_history"])
    (folder / "users.csv").write_text(
        "external_id,name,email,phone,extension,number_since\n"
        f"u1,Alice A,alice@acme.example,+4522100001,201,{(now - timedelta(days=400)).date()}\n"
    )
    ingest_subjects(vault, "acme", folder / "users.csv", format="csv")
    lines = [json.dumps({"id": f"c{i}", "start": (now - timedelta(hours=i + 1)).isoformat(),
                         "duration": 60, "caller": "201", "callee": f"+4530{i:06d}",
                         "outcome": "answered", "answer": (now - timedelta(hours=i + 1)).isoformat()})
             for i in range(CALLS)]  # fmt: skip
    (folder / "calls.jsonl").write_text("\n".join(lines) + "\n")
    ingest_calls(vault, "acme", folder / "calls.jsonl", format="jsonl")
    _, who = create_token(vault, "acme", "subject", subject="alice@acme.example")  # its id
    purpose = next(n for n, p in vault.policy.policy.purposes.items() if p.legal_basis == "consent")
    give_consent(vault, "acme", str(who.subject_id), purpose)
    service, _ = create_token(vault, "acme", "service", name="bench", purposes=[purpose])
    return f"/api/v1/tenants/acme/subjects/{who.subject_id}/data?purpose={purpose}", service


def _statements(vault: Vault, path: str, token: str) -> dict[str, int]:
    """Where a read's time goes, in database round trips: the token lookup, the read (gate,
    directory, calls, parties) and its audit append (head FOR UPDATE, INSERT, UPDATE), in process."""
    from sqlalchemy import event

    from callvault import authenticate, read_subject

    subject = path.split("/subjects/")[1].split("/")[0]
    purpose = path.split("purpose=")[1]
    seen: list[str] = []

    def count(*args: Any) -> None:
        kind = str(args[2]).lstrip().split()[0].upper()
        if kind not in ("BEGIN", "COMMIT", "PRAGMA", "SAVEPOINT", "RELEASE"):
            seen.append(kind)

    event.listen(vault.engine, "before_cursor_execute", count)
    try:
        authenticate(vault, token)
        token_lookup = len(seen)
        read_subject(vault, "acme", subject, purpose, "service:bench")
    finally:
        event.remove(vault.engine, "before_cursor_execute", count)
    writes = sum(1 for kind in seen if kind in ("INSERT", "UPDATE"))
    return {
        "token": token_lookup,
        "read": len(seen) - token_lookup - writes - 1,
        "audit": writes + 1,
    }


def _serve(vault: Vault, port: int) -> None:
    import uvicorn

    app = create_app(vault)

    @app.get("/bench/raw/{subject}")
    def raw(subject: str) -> dict[str, Any]:  # the baseline: the same rows, no gate, no crypto
        c = calls.c
        query = select(c.call_id, c.started_at, c.duration_s, c.direction, c.outcome,
                       c.caller_subject_id, c.callee_subject_id).where(
            c.tenant_id == "acme",
            or_(c.caller_subject_id == subject, c.callee_subject_id == subject),
        )  # fmt: skip
        with vault.engine.connect() as conn:
            rows = [dict(r._mapping) for r in conn.execute(query)]
        return {"calls": [{**r, "started_at": r["started_at"].isoformat()} for r in rows]}

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _load(
    url: str, headers: dict[str, str], clients: int, seconds: float
) -> tuple[int, list[float]]:
    latencies: list[float] = []
    lock = threading.Lock()
    stop = time.perf_counter() + seconds

    def client() -> None:
        mine = []
        with httpx.Client(headers=headers, timeout=30) as http:
            while time.perf_counter() < stop:
                start = time.perf_counter()
                response = http.get(url)
                mine.append(time.perf_counter() - start)
                assert response.status_code == 200, response.text
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    began = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return len(latencies), [time.perf_counter() - began, *sorted(latencies)]


def _figures(label: str, count: int, timing: list[float]) -> float:
    elapsed, latencies = timing[0], timing[1:]
    p50 = statistics.median(latencies) * 1000
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000
    print(f"  {label:<10} {count / elapsed:>8,.0f} req/s   p50 {p50:6.1f} ms   p99 {p99:6.1f} ms"
          f"   ({count} requests)")  # fmt: skip
    return elapsed / count


def bench(backend: str, pg: str, clients: int, seconds: float) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        # a key store of this run only, apart from the data (never one in the working directory)
        os.environ["CALLVAULT_KEYSTORE"] = f"sqlite:///{tmp}/keystore-{backend}.db"
        with scratch_vault(backend, pg) as vault:
            _run(vault, backend, Path(tmp), clients, seconds)


def _run(vault: Vault, backend: str, tmp: Path, clients: int, seconds: float) -> None:
    path, token = _world(vault, tmp)
    subject = path.split("/subjects/")[1].split("/")[0]
    trips = _statements(vault, path, token)
    vault.engine.dispose()  # the server process opens its own connections
    port = _free_port()
    server = multiprocessing.get_context("fork").Process(target=_serve, args=(vault, port))
    server.start()
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                httpx.get(f"{base}/healthz", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        ours_url, raw_url = f"{base}{path}", f"{base}/bench/raw/{subject}"
        auth = {"Authorization": f"Bearer {token}"}
        got = httpx.get(ours_url, headers=auth).json()
        assert len(got["calls"]) == CALLS, len(got["calls"])
        _load(ours_url, auth, clients, 1.0)  # warm-up
        _load(raw_url, {}, clients, 1.0)
        print(f"{backend}: {clients} clients, {seconds:.0f} s per route, {CALLS} calls per read")
        ours = _figures("callvault", *_load(ours_url, auth, clients, seconds))
        raw = _figures("raw", *_load(raw_url, {}, clients, seconds))
        print(f"  ratio (time per request, callvault / raw): {ours / raw:.2f}")
        print(f"  statements per request: callvault {sum(trips.values())} (token lookup "
              f"{trips['token']}, gate and read {trips['read']}, audit append {trips['audit']}; "
              "plus the commit of the audit entry), raw 1")  # fmt: skip
    finally:
        server.terminate()
        server.join(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--pg", default=os.environ.get("CALLVAULT_TEST_PG", DEFAULT_PG))
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args()
    if not 1 <= args.clients <= 64 or not 0 < args.seconds <= 60:
        parser.error("--clients 1..64 and --seconds up to 60 (the benchmark stays bounded)")
    for backend in backends(args.backend):
        bench(backend, args.pg, args.clients, args.seconds)


if __name__ == "__main__":
    main()
