"""The web pages under test: the app served by uvicorn on 127.0.0.1 in a thread, a real SMTP server
(aiosmtpd) on 127.0.0.1 that keeps what it receives, and a tenant with a user, calls enough for a
published statistics cell, a token per role and an overdue request."""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from pathlib import Path
from typing import Any

import uvicorn
from aiosmtpd.controller import Controller

from callvault import Vault, create_request, create_token
from callvault.api import create_app
from factories import make_call, make_tenant, make_user, make_users

ADDRESS = "alice@acme.dk"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Mailbox:
    messages: list[Any] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"

    def code_for(self, address: str, timeout: float = 5.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for message in reversed(self.messages):
                if message["To"] == address:
                    found = re.search(r"\b(\d{6})\b", message.get_payload(decode=True).decode())
                    if found:
                        return found.group(1)
            time.sleep(0.05)
        raise AssertionError("no code was mailed")


@contextmanager
def smtp_server() -> Iterator[tuple[Mailbox, str]]:
    mailbox = Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield mailbox, f"smtp://127.0.0.1:{port}"
    finally:
        controller.stop()


@contextmanager
def served(vault: Vault) -> Iterator[str]:
    port = free_port()
    config = uvicorn.Config(create_app(vault), host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


def make_site(vault: Vault) -> dict[str, str]:
    """The tenant ``acme``: Alice, five more users calling in the same hour (a cell k=5 publishes),
    an erasure request received 40 days ago (overdue) and the tokens."""
    make_tenant(vault, "acme")
    alice = make_user(vault, "acme")
    hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(days=1)
    for user in [alice, *make_users(vault, 5)]:
        make_call(vault, "acme", caller_id=user, callee_id=None, started_at=hour)
    create_request(vault, "acme", alice, "erasure",
                   received_at=datetime.now(UTC) - timedelta(days=40))  # fmt: skip
    admin, _ = create_token(vault, "acme", "tenant_admin", name="hr")
    service, _ = create_token(vault, "acme", "service", name="app", purposes=["personalisation"])
    return {"alice": alice, "admin": admin, "service": service}


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "the page has no CSRF token"
    return found.group(1)


def sign_in_http(
    client: Any, codes: list[str], tenant: str = "acme", address: str = ADDRESS
) -> str:
    """Sign ``client`` (a TestClient) in to the privacy centre; ``codes`` collects the codes the
    app mailed (see :func:`catch_codes`). Returns the CSRF token of the subject's session."""
    csrf = csrf_of(client.get(f"/privacy/{tenant}/").text)
    asked = client.post(f"/privacy/{tenant}/code", data={"address": address, "csrf": csrf})
    csrf = csrf_of(asked.text)  # asking for a code starts a fresh session
    page = client.post(f"/privacy/{tenant}/code/verify", data={"code": codes[-1], "csrf": csrf})
    assert page.status_code == 200 and page.url.path == f"/privacy/{tenant}/me", page.status_code
    return csrf_of(page.text)


def catch_codes(monkeypatch: Any) -> list[str]:
    """The codes the privacy centre mails, in order, caught where the mail is handed to SMTP."""
    import callvault.web.privacy as privacy

    caught: list[str] = []
    monkeypatch.setenv("CALLVAULT_SMTP_URL", "console")  # a delivery configured (then caught here)
    monkeypatch.setattr(privacy, "send_code", lambda url, to, code, *rest: caught.append(code))
    return caught


def subject_flow(page: Any, base: str, mailbox: Mailbox, check: Any, secrets: list[str],
                 tenant: str = "acme", address: str = ADDRESS) -> dict[str, Any]:  # fmt: skip
    """The subject's part of issue 15's Done-when, in a browser page: sign in with the code the SMTP
    server received, see the data, withdraw consent (given first), download the access export,
    ask for erasure and see it listed with its due date. ``check(page, name, secrets)`` runs on
    each main page (axe, screenshots). Returns what the admin part needs to find (the export's
    zip names, the erasure's due date)."""
    import io
    import zipfile

    page.goto(f"{base}/privacy/{tenant}/?lang=en")
    check(page, "privacy-sign-in", secrets)
    page.fill("#address", address)
    page.click("main button[type=submit]")
    page.fill("#code", mailbox.code_for(address))
    page.click("main button[type=submit]")
    assert page.url == f"{base}/privacy/{tenant}/me"
    assert page.locator("tr[data-category]").count() >= 1
    consent = page.locator("li[data-purpose]").first
    if consent.locator(".consent-state").inner_text() == "not given":
        consent.locator("button").click()
    consent.locator("button").click()  # withdraw
    assert consent.locator(".consent-state").inner_text() == "not given"
    assert "Receipt" in page.locator("[role=status]").inner_text()
    check(page, "privacy-me", secrets)
    with page.expect_download() as info:
        page.click("#export-form button")
    download = info.value
    assert download.suggested_filename == "access-export.zip"
    with zipfile.ZipFile(io.BytesIO(Path(download.path()).read_bytes())) as archive:
        names = archive.namelist()
    page.click("#erase-form button")
    assert page.url == f"{base}/privacy/{tenant}/requests"
    assert page.locator("[role=status]").is_visible()
    row = page.locator("tr[data-request-type=erasure][data-state=pending]").first
    due = row.locator(".request-due").inner_text().split()[0]
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", due)
    check(page, "privacy-requests", secrets)
    return {"zip_names": names, "erasure_due": due}


def make_admin_case(vault: Vault, made: dict[str, str]) -> dict[str, str]:
    """For the admin flow, on top of :func:`make_site`: Alice's erasure request received through
    the privacy centre with her identity verified by a one-time code (as the subject flow leaves
    it), and a support session engineer ``eve`` asked for ticket ``T-7`` about Alice."""
    from callvault import Verification, request_session

    proof = Verification("one_time_code", by=f"subject:{made['alice']}", subject_id=made["alice"])
    asked = create_request(vault, "acme", made["alice"], "erasure", actor=f"subject:{made['alice']}",
                           channel="privacy_centre", verification=proof)  # fmt: skip
    session = request_session(vault, "acme", ticket="T-7", engineer="eve", subjects=[made["alice"]])
    return {**made, "request": asked.request_id, "session": session.session_id}


def admin_flow(admin: Any, base: str, made: dict[str, str], check: Any) -> None:
    """A tenant admin in the browser (a Playwright page ``admin``): signs in with the token, sees
    the privacy-centre erasure request as due, completes it, approves the support session, sees
    the collection profile, the Art. 30 record, the notice, retention status and the statistics
    charts. ``check(page, name)`` runs after each main page (axe, screenshots): the integrator
    chains this after the subject flow (which leaves a privacy_centre erasure request)."""
    admin.goto(f"{base}/admin/login?lang=en")
    check(admin, "admin-login")
    admin.fill("#token", made["admin"])
    admin.click("main button[type=submit]")
    assert admin.url == f"{base}/admin/requests"
    row = admin.locator("tr[data-request-type=erasure][data-channel=privacy_centre]").first
    assert row.get_attribute("data-state") == "pending" and "Overdue" not in row.inner_text()
    check(admin, "admin-requests")
    row.locator("button").click()
    assert admin.locator("#state").get_attribute("data-state") == "pending"
    assert "one_time_code" in admin.locator("main").inner_text()
    check(admin, "admin-request")
    admin.click("#complete-form button[type=submit]")
    assert admin.locator("#state").get_attribute("data-state") == "completed"
    assert admin.locator("#outcome").inner_text().startswith("erased")
    assert admin.locator("[role=status]").is_visible()
    check(admin, "admin-request-completed")
    admin.click("a[href='/admin/support']")
    card = admin.locator("li[data-ticket=T-7]")
    check(admin, "admin-support-pending")
    card.locator("form.approve select").select_option("2")
    card.locator("form.approve button").click()
    assert "approved" in admin.locator("[role=status]").inner_text()
    check(admin, "admin-support")
    admin.click("a[href='/admin/retention']")
    assert admin.locator("tr[data-kind]").count() >= 1
    check(admin, "admin-retention")
    admin.click("a[href='/admin/profile']")
    assert admin.locator("#collects li").count() >= 1
    check(admin, "admin-profile")
    admin.click("a[href='/admin/records']")
    assert "## Art. 30(2): processing for" in admin.locator("#records").inner_text()
    check(admin, "admin-records")
    admin.click("a[href='/admin/notice']")
    assert admin.locator("#notice h1").count() == 1
    check(admin, "admin-notice")
    admin.click("a[href='/admin/statistics']")
    assert admin.locator("#calls-chart rect.bar").count() >= 1
    assert admin.locator(".outcome-chart rect.bar").count() >= 1
    check(admin, "admin-statistics")
