"""Benchmark OpenDSR: (1) the signed status of a request, ``GET /opendsr/v1/requests/{id}`` (bearer
token, role check, ECDSA signature), against a bare route on the same app doing the raw SELECT of
that row; (2) a signed, audited status callback to a controller on 127.0.0.1 against a plain POST of
the same body. In process (the ASGI app through its test client), bounded counts.

    .venv/bin/python bench/opendsr.py [--rows 300] [--backend sqlite|postgresql|both]
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import threading
import urllib.request
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from _common import arguments, backends, report, scratch_vault, timed
from fastapi.testclient import TestClient
from sqlalchemy import select

from callvault import (
    Vault,
    add_tenant,
    create_request,
    create_token,
    get_request,
    ingest_subjects,
    send_callbacks,
)
from callvault.api import create_app
from callvault.store.schema.requests import subject_requests


class _Sink(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def _world(vault: Vault, folder: Path) -> tuple[str, str]:
    add_tenant(vault, "acme", name="Acme", collect=["name", "email", "phone"])
    (folder / "users.csv").write_text(
        "external_id,name,email,phone,extension,number_since\n"
        "u1,Alice A,alice@acme.example,+4522100001,201,2024-01-01\n"
    )
    ingest_subjects(vault, "acme", folder / "users.csv", format="csv")
    rid = str(uuid.uuid4())
    create_request(vault, "acme", "alice@acme.example", "erasure", channel="opendsr",
                   request_id=rid)  # fmt: skip
    token, _ = create_token(vault, "acme", "tenant_admin", name="bench")
    return rid, token


def bench(vault: Vault, backend: str, rows: int, folder: Path) -> None:
    rid, token = _world(vault, folder)
    app = create_app(vault)

    @app.get("/bench/raw/{rid}")
    def raw(rid: str) -> dict[str, Any]:  # the baseline: the row, no token, no signature
        t = subject_requests.c
        with vault.engine.connect() as conn:
            row = conn.execute(select(subject_requests).where(t.request_id == rid)).one()
        return {"subject_request_id": row.request_id, "request_status": row.state,
                "expected_completion_time": row.due_at.isoformat()}  # fmt: skip

    client = TestClient(app)
    auth = {"Authorization": f"Bearer {token}"}
    assert client.get(f"/opendsr/v1/requests/{rid}", headers=auth).status_code == 200
    ours = timed(lambda: [client.get(f"/opendsr/v1/requests/{rid}", headers=auth)
                          for _ in range(rows)])  # fmt: skip
    base = timed(lambda: [client.get(f"/bench/raw/{rid}") for _ in range(rows)])
    report("opendsr signed status", backend, "req", rows, ours, base)

    server = ThreadingHTTPServer(("127.0.0.1", 0), _Sink)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/callbacks"
    os.environ["CALLVAULT_CALLBACK_PRIVATE"] = "allow"  # the bench's controller is on loopback
    request = get_request(vault, "acme", rid)
    request = type(request)(**{**request.__dict__, "callbacks": [url]})
    count = max(1, rows // 3)
    body = json.dumps({"subject_request_id": rid, "request_status": "pending"}).encode()

    def plain() -> None:
        for _ in range(count):
            post = urllib.request.Request(url, data=body, method="POST",
                                          headers={"Content-Type": "application/json"})  # fmt: skip
            urllib.request.urlopen(post, timeout=5).close()

    ours = timed(lambda: [send_callbacks(vault, request, domain="bench") for _ in range(count)])
    base = timed(plain)
    report("opendsr signed callback", backend, "calls", count, ours, base)
    server.shutdown()
    server.server_close()


def main() -> None:
    args = arguments(__doc__ or "", 300)
    if not 1 <= args.rows <= 5000:
        raise SystemExit("--rows 1..5000 (the benchmark stays bounded)")
    for backend in backends(args.backend):
        with tempfile.TemporaryDirectory() as tmp:
            os.environ["CALLVAULT_KEYSTORE"] = f"sqlite:///{tmp}/keystore-{backend}.db"
            with scratch_vault(backend, args.pg) as vault:
                bench(vault, backend, args.rows, Path(tmp))


if __name__ == "__main__":
    main()
