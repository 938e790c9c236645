"""Benchmark the web pages: the privacy centre's page for a signed-in subject (session, categories
with purposes and retention, consent states, audit entry, Jinja2 rendering) and the admin console's
request queue (token re-check, requests, rendering) and the subject's own requests (audited), each
against a bare route on the same app that runs the raw SELECT of the same rows. In process (Starlette's test client), sequential requests.

The subject signs in as a real one does: asks for a code on the sign-in page, reads it from the
mail a local SMTP server (aiosmtpd, ``CALLVAULT_SMTP_URL``) received, and enters it; the admin signs
in with a tenant_admin token on the login page.

    .venv/bin/python bench/web.py [--rows REQUESTS] [--backend sqlite|postgresql|both]
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
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
from webhelp import ADDRESS, Mailbox, make_site, smtp_server

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


@contextmanager
def mail_delivery() -> Iterator[Mailbox]:
    """A local SMTP server the privacy centre mails its sign-in codes to, for this run."""
    before = os.environ.get("CALLVAULT_SMTP_URL")
    with smtp_server() as (mailbox, url):
        os.environ["CALLVAULT_SMTP_URL"] = url
        try:
            yield mailbox
        finally:
            if before is None:
                os.environ.pop("CALLVAULT_SMTP_URL", None)
            else:
                os.environ["CALLVAULT_SMTP_URL"] = before


def sign_in(client: TestClient, mailbox: Mailbox) -> None:
    """The subject's sign-in, as in a browser: ask for a code, enter the one mailed."""
    csrf = _csrf(client.get("/privacy/acme/").text)
    asked = client.post("/privacy/acme/code", data={"address": ADDRESS, "csrf": csrf})
    csrf = _csrf(asked.text)  # asking for a code starts a fresh session (its own CSRF token)
    code = mailbox.code_for(ADDRESS)
    page = client.post("/privacy/acme/code/verify", data={"code": code, "csrf": csrf})
    assert page.status_code == 200 and page.url.path == "/privacy/acme/me", page.status_code


def run(backend: str, pg: str, requests: int) -> None:
    with scratch_vault(backend, pg) as vault, mail_delivery() as mailbox:
        made = make_site(vault)
        for i in range(requests - 1):
            create_request(vault, "acme", made["alice"], "access",
                           received_at=datetime.now(UTC) - timedelta(days=i % 60))  # fmt: skip
        subject_client = _client(vault, made["alice"])
        sign_in(subject_client, mailbox)

        def pages(client: TestClient, path: str) -> None:  # signed in: the page, no redirect
            for _ in range(PAGES):
                assert client.get(path, follow_redirects=False).status_code == 200

        ours = timed(lambda: pages(subject_client, "/privacy/acme/me"))
        raw = timed(lambda: pages(subject_client, "/bench/raw-consents"))
        report("privacy centre page", backend, "pages", PAGES, ours, raw)
        ours = timed(lambda: pages(subject_client, "/privacy/acme/requests"))
        raw = timed(lambda: pages(subject_client, "/bench/raw-requests"))
        report(f"subject's requests ({requests} req)", backend, "pages", PAGES, ours, raw)
        admin = _client(vault, made["alice"])
        csrf = _csrf(admin.get("/admin/login").text)
        signed = admin.post("/admin/login", data={"token": made["admin"], "csrf": csrf})
        assert signed.url.path == "/admin/requests", signed.status_code
        ours = timed(lambda: pages(admin, "/admin/requests"))
        raw = timed(lambda: pages(admin, "/bench/raw-requests"))
        report(f"admin queue ({requests} req)", backend, "pages", PAGES, ours, raw)


def main() -> None:
    args = arguments(__doc__ or "", rows=100)
    for backend in backends(args.backend):
        run(backend, args.pg, args.rows)


if __name__ == "__main__":
    main()
