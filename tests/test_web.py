"""The web pages over HTTP (no browser): CSRF, cookies, the security headers, the sign-in codes
(expiry, single use, rate limit, no telling whether an address is held), admin roles and sessions,
on SQLite and PostgreSQL. The browser drives the same pages in tests/test_web_browser.py."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from callvault import SignInCodes, Unauthenticated, audit_entries, revoke_token
from callvault.api import create_app
from webhelp import ADDRESS, make_site


@pytest.fixture
def site(vault, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("CALLVAULT_SMTP_URL", "console")  # the demo's delivery: codes on the console
    made = make_site(vault)
    client = TestClient(create_app(vault), base_url="https://testserver")
    return vault, client, made


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found
    return found.group(1)


def test_pages_carry_strict_headers_and_secure_cookie(site) -> None:  # type: ignore[no-untyped-def]
    _, client, _ = site
    response = client.get("/admin/login")
    assert response.status_code == 200
    csp = response.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "script-src" not in csp and "unsafe" not in csp
    assert response.headers["x-frame-options"] == "DENY"
    cookie = response.headers["set-cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie
    assert 1700 < int(re.search(r"Max-Age=(\d+)", cookie).group(1)) <= 1800  # type: ignore[union-attr]


def test_a_form_without_its_csrf_token_is_refused(site) -> None:  # type: ignore[no-untyped-def]
    _, client, made = site
    client.get("/admin/login")
    refused = client.post("/admin/login", data={"token": made["admin"], "csrf": "forged"})
    assert refused.status_code == 403
    assert client.get("/admin/requests", follow_redirects=False).status_code == 303


def test_admin_signs_in_with_a_tenant_admin_token_only(site) -> None:  # type: ignore[no-untyped-def]
    vault, client, made = site
    csrf = _csrf(client.get("/admin/login").text)
    wrong = client.post("/admin/login", data={"token": made["service"], "csrf": csrf})
    assert wrong.status_code == 401 and "not accepted" in wrong.text
    refusal = audit_entries(vault, "acme", limit=1, action="web.admin.sign_in")[0]
    assert refusal["actor"] == "service:app" and refusal["outcome"] == "denied"
    before = client.cookies.get("cv_session")
    page = client.post("/admin/login", data={"token": made["admin"], "csrf": csrf})
    assert page.status_code == 200 and "<h1>Requests</h1>" in page.text
    assert client.cookies.get("cv_session") != before  # a new session on sign-in
    assert 'class="overdue"' in page.text and "erasure" in page.text
    assert made["alice"] not in page.text and ADDRESS not in page.text


def test_a_revoked_token_ends_the_admin_session(site) -> None:  # type: ignore[no-untyped-def]
    vault, client, made = site
    csrf = _csrf(client.get("/admin/login").text)
    client.post("/admin/login", data={"token": made["admin"], "csrf": csrf})
    assert client.get("/admin/audit").status_code == 200
    from callvault import authenticate

    revoke_token(vault, authenticate(vault, made["admin"]).token_id)
    assert client.get("/admin/audit", follow_redirects=False).headers["location"] == "/admin/login"


def test_the_code_page_is_the_same_for_a_held_and_an_unknown_address(site, capfd) -> None:  # type: ignore[no-untyped-def]
    _, client, _ = site
    pages = []
    for address in (ADDRESS, "nobody@acme.dk"):
        client.cookies.clear()
        csrf = _csrf(client.get("/privacy/acme/").text)
        page = client.post("/privacy/acme/code", data={"address": address, "csrf": csrf})
        pages.append(re.sub(r'value="[^"]+"', "", page.text))
    assert pages[0] == pages[1]
    console = capfd.readouterr().err
    assert len(re.findall(r"sign-in code: \d{6}", console)) == 1  # the demo's console delivery
    assert ADDRESS not in console


def test_codes_expire_are_single_use_and_rate_limited(vault) -> None:  # type: ignore[no-untyped-def]
    make_site(vault)
    codes = SignInCodes(vault)
    code = codes.issue("acme", ADDRESS)
    assert code is not None and codes.issue("acme", "nobody@acme.dk") is None
    assert codes.issue("nosuch", ADDRESS) is None
    subject = codes.redeem("acme", ADDRESS.upper(), code)
    with pytest.raises(Unauthenticated):
        codes.redeem("acme", ADDRESS, code)  # used once
    entries = audit_entries(vault, "acme", action="subject.sign_in")
    assert [e["outcome"] for e in entries][-1] == "ok" and entries[-1]["subject_id"] == subject
    stale = SignInCodes(vault, ttl=timedelta(0))
    with pytest.raises(Unauthenticated):
        stale.redeem("acme", ADDRESS, stale.issue("acme", ADDRESS) or "")
    guessed = SignInCodes(vault, attempts=2)
    right = guessed.issue("acme", ADDRESS) or ""
    for _ in range(2):
        with pytest.raises(Unauthenticated):
            guessed.redeem("acme", ADDRESS, "000000" if right != "000000" else "111111")
    with pytest.raises(Unauthenticated):
        guessed.redeem("acme", ADDRESS, right)  # discarded after two wrong entries


def test_an_address_gets_a_few_codes_an_hour_held_or_not(vault) -> None:  # type: ignore[no-untyped-def]
    make_site(vault)
    limited = SignInCodes(vault, per_hour=3)
    assert [limited.issue("acme", ADDRESS) is not None for _ in range(4)] == [True] * 3 + [False]
    with vault.engine.connect() as conn:  # an unknown address leaves the same rows
        before = conn.scalar(text("SELECT count(*) FROM sign_in_codes"))
    assert [limited.issue("acme", "nobody@acme.dk") for _ in range(4)] == [None] * 4
    with vault.engine.connect() as conn:
        assert conn.scalar(text("SELECT count(*) FROM sign_in_codes")) == before + 4


def test_rows_older_than_the_hour_are_pruned(vault, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import callvault.subjects.codes as codes_module

    make_site(vault)
    codes = SignInCodes(vault)
    for address in ("a@x.dk", "b@x.dk", "c@x.dk"):
        codes.issue("acme", address, client="192.0.2.1")
    later = datetime.now(UTC) + timedelta(hours=2)
    monkeypatch.setattr(codes_module, "utcnow", lambda: later)
    assert codes.issue("acme", ADDRESS, client="192.0.2.1") is not None
    with pytest.raises(Unauthenticated):
        codes.redeem("acme", ADDRESS, "000000", client="192.0.2.1")
    with vault.engine.connect() as conn:
        assert conn.scalar(text("SELECT count(*) FROM sign_in_codes")) == 1
        assert conn.scalar(text("SELECT count(*) FROM sign_in_attempts")) == 1


def test_without_a_mail_server_no_code_is_issued_or_printed(
    site, monkeypatch, capfd, caplog
) -> None:  # type: ignore[no-untyped-def]
    vault, client, _ = site
    csrf = _csrf(client.get("/privacy/acme/").text)  # a form from before the setting changed
    monkeypatch.delenv("CALLVAULT_SMTP_URL")
    form = client.get("/privacy/acme/?lang=en")
    assert "Sign-in by code is not available on this server" in form.text
    assert 'id="address"' not in form.text
    pages = []
    for address in (ADDRESS, "nobody@acme.dk"):
        page = client.post("/privacy/acme/code?lang=da", data={"address": address, "csrf": csrf})
        assert page.status_code == 503 and "Log ind med kode er ikke muligt" in page.text
        pages.append(page.text)
    assert pages[0] == pages[1]
    output = capfd.readouterr()
    assert "code" not in (output.out + output.err + caplog.text).lower()
    with vault.engine.connect() as conn:
        assert conn.scalar(text("SELECT count(*) FROM sign_in_codes")) == 0
    assert client.get("/privacy/acme/code", follow_redirects=False).status_code == 303


def test_serve_warns_without_a_mail_server(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from callvault.cli.serve import _mail_warning

    monkeypatch.delenv("CALLVAULT_SMTP_URL", raising=False)
    assert "cannot deliver sign-in codes" in (_mail_warning() or "")
    monkeypatch.setenv("CALLVAULT_SMTP_URL", "console")
    assert "demo only" in (_mail_warning() or "")
    monkeypatch.setenv("CALLVAULT_SMTP_URL", "smtp://127.0.0.1:25")
    assert _mail_warning() is None
