"""Benchmark the web pages: the privacy centre's page for a signed-in subject (session, categories
with purposes and retention, consent states, audit entry, Jinja2 rendering) and the admin console's
request queue (token re-check, requests, rendering) and the subject's own requests (audited), each
against a bare route on the same app that runs the raw SELECT of the same rows. In process (Starlette's test client), sequential requests.

    .venv/bin/python bench/web.py [--rows REQUESTS] [--backend sqlite|postgresql|both]
"""

from __future__ import annotations

import re
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parent.parent / "tests"))
from _common import arguments, backends, report, scratch_vault, timed
from fastapi.testclient import TestClient
from sqlalchemy import select

from callvault import Vault, create_request
from callvault.api import create_app
from callvault.store.schema.consent import consent_records
from callvault.store.schema.requests import subject_requests
from webhelp import ADDRESS, make_site

PAGES = 200


def _client(vault: Vault, subject: str) -> TestClient:
    app = create_app(vault)

    @app.get("/bench/raw-consents")
    def raw_consents() -> list[str]:
        with vault.engine.connect() as conn:
            c = consent_records.c
            rows = conn.execute(select(c.purpose, c.state).where(c.tenant_id == "acme",
                                c.subject_id == subject)).all()  # fmt: skip
        return [f"{r.purpose}:{r.state}" for r in rows]

    @app.get("/bench/raw-requests")
    def raw_requests() -> list[str]:
        q = subject_requests.c
        with vault.engine.connect() as conn:
            rows = conn.execute(
                select(q.type, q.state, q.due_at).where(q.tenant_id == "acme")
            ).all()
        return [f"{r.type}:{r.state}:{r.due_at}" for r in rows]

    return TestClient(app, base_url="https://bench")


def _csrf(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)  # type: ignore[union-attr]


def run(backend: str, pg: str, requests: int) -> None:
    with scratch_vault(backend, pg) as vault:
        made = make_site(vault)
        for i in range(requests - 1):
            create_request(vault, "acme", made["alice"], "access",
                           received_at=datetime.now(UTC) - timedelta(days=i % 60))  # fmt: skip
        subject_client = _client(vault, made["alice"])
        csrf = _csrf(subject_client.get("/privacy/acme/").text)
        subject_client.post("/privacy/acme/code", data={"address": ADDRESS, "csrf": csrf})
        # the code went to the console (no SMTP server here): issue a fresh one to enter
        issued = subject_client.app.state.web_codes.issue("acme", ADDRESS)  # type: ignore[attr-defined]
        csrf = _csrf(subject_client.get("/privacy/acme/code").text)
        page = subject_client.post("/privacy/acme/code/verify", data={"code": issued, "csrf": csrf})
        assert page.status_code == 200

        def pages(client: TestClient, path: str) -> None:
            for _ in range(PAGES):
                assert client.get(path).status_code == 200

        ours = timed(lambda: pages(subject_client, "/privacy/acme/me"))
        raw = timed(lambda: pages(subject_client, "/bench/raw-consents"))
        report("privacy centre page", backend, "pages", PAGES, ours, raw)
        ours = timed(lambda: pages(subject_client, "/privacy/acme/requests"))
        raw = timed(lambda: pages(subject_client, "/bench/raw-requests"))
        report(f"subject's requests ({requests} req)", backend, "pages", PAGES, ours, raw)
        admin = _client(vault, made["alice"])
        csrf = _csrf(admin.get("/admin/login").text)
        admin.post("/admin/login", data={"token": made["admin"], "csrf": csrf})
        ours = timed(lambda: pages(admin, "/admin/requests"))
        raw = timed(lambda: pages(admin, "/bench/raw-requests"))
        report(f"admin queue ({requests} req)", backend, "pages", PAGES, ours, raw)


def main() -> None:
    args = arguments(__doc__ or "", rows=100)
    for backend in backends(args.backend):
        run(backend, args.pg, args.rows)


if __name__ == "__main__":
    main()
