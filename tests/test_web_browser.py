"""The pages in a real browser (Debian's chromium through Playwright, never a downloaded one):
a subject signs in with the code the local SMTP server received, sees what is held, gives and
withdraws consent; a tenant admin signs in with a token and sees the overdue request, retention,
the audit check and the statistics chart, in English and Danish. Screenshots of each page at desktop
and phone width go to tests/artifacts/ (ignored by git); an axe-core check runs on each page when
axe.min.js is available (CALLVAULT_AXE_JS, or the axe-core npm package that .ci/run installs)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from webhelp import ADDRESS, make_site, served, smtp_server

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).parent / "artifacts"
AXE = Path(os.environ.get("CALLVAULT_AXE_JS", "/usr/lib/node_modules/axe-core/axe.min.js"))
SIZES = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}

sync_api = pytest.importorskip("playwright.sync_api")


@pytest.fixture
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        message = f"{CHROMIUM} is missing: apt-get install chromium (.ci/run does)"
        if os.environ.get("CALLVAULT_REQUIRE_BROWSER") == "1":  # CI: fail, never skip
            pytest.fail(message)
        pytest.skip(message)
    with sync_api.sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        launched.close()


def check_page(page: Any, name: str, secret_values: list[str]) -> None:
    """No identifier in the URL or title; no serious axe violation; screenshots at both widths."""
    for value in secret_values:
        assert value not in page.url and value not in page.title()
    if os.environ.get("CALLVAULT_AXE_JS") and not AXE.exists():
        pytest.fail(f"CALLVAULT_AXE_JS names no file: {AXE}")
    if AXE.exists():
        page.add_script_tag(path=str(AXE))
        result = page.evaluate("async () => await axe.run()")
        bad = [v["id"] for v in result["violations"] if v["impact"] in ("serious", "critical")]
        assert bad == [], f"{name}: {bad}"
    ARTIFACTS.mkdir(exist_ok=True)
    for size, viewport in SIZES.items():
        page.set_viewport_size(viewport)
        page.screenshot(path=str(ARTIFACTS / f"{name}-{size}.png"), full_page=True)
    page.set_viewport_size(SIZES["desktop"])


@pytest.mark.slow
def test_subject_and_admin_in_the_browser(vault, browser, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    made = make_site(vault)
    secrets = [ADDRESS, made["alice"], made["admin"]]
    with smtp_server() as (mailbox, smtp_url), served(vault) as base:
        monkeypatch.setenv("CALLVAULT_SMTP_URL", smtp_url)
        # axe is injected as a script: the page's own CSP (no script at all) would refuse it
        context = browser.new_context(bypass_csp=bool(AXE.exists()))
        page = context.new_page()
        response = page.goto(f"{base}/privacy/acme/")
        assert "default-src 'none'" in response.headers["content-security-policy"]
        check_page(page, "privacy-sign-in", secrets)
        page.fill("#address", ADDRESS)
        page.click("button[type=submit]")
        code = mailbox.code_for(ADDRESS)
        page.fill("#code", "000000" if code != "000000" else "111111")
        page.click("main button[type=submit]")
        assert page.locator("[role=alert]").is_visible()
        check_page(page, "privacy-code", secrets)
        page.fill("#code", code)
        page.click("main button[type=submit]")
        assert page.url == f"{base}/privacy/acme/me"
        assert page.locator('tr[data-category="user.behavior.call_history"]').count() == 1
        cookie = next(c for c in context.cookies() if c["name"] == "cv_session")
        assert cookie["secure"] and cookie["httpOnly"] and cookie["sameSite"] == "Strict"
        consent = page.locator("li[data-purpose=personalisation]")
        assert consent.locator(".consent-state").inner_text() == "not given"
        consent.locator("button").click()
        assert consent.locator(".consent-state").inner_text() == "given"
        assert "Receipt" in page.locator("[role=status]").inner_text()
        check_page(page, "privacy-me", secrets)
        consent.locator("button").click()
        assert consent.locator(".consent-state").inner_text() == "not given"
        page.click("a[hreflang=da]")
        assert page.locator("h1").inner_text() == "Det har vi om dig"

        admin = context.new_page()
        admin.goto(f"{base}/admin/login?lang=en")
        check_page(admin, "admin-login", secrets)
        admin.fill("#token", made["admin"])
        admin.click("main button[type=submit]")
        assert admin.url == f"{base}/admin/requests"
        row = admin.locator("tr[data-request-type=erasure]")
        assert "overdue" in (row.get_attribute("class") or "") and "Overdue" in row.inner_text()
        check_page(admin, "admin-requests", secrets)
        admin.click("a[href='/admin/retention']")
        assert admin.locator("tr[data-kind]").count() >= 1
        check_page(admin, "admin-retention", secrets)
        admin.click("a[href='/admin/audit']")
        assert "verifies" in admin.locator("#audit-result").inner_text()
        check_page(admin, "admin-audit", secrets)
        admin.click("a[href='/admin/statistics']")
        assert admin.locator("#calls-chart rect.bar").count() >= 1
        check_page(admin, "admin-statistics", secrets)
        admin.click("a[hreflang=da]")
        assert admin.locator("h1").inner_text() == "Opkald pr. dag (seneste 30 dage)"
        admin.click("header form button")
        assert admin.url.endswith("/admin/login")
        context.close()
