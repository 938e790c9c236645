"""The admin console in a real browser (Debian's chromium through Playwright): a tenant admin signs
in, sees a privacy-centre erasure request as due, completes it, approves a support session, and sees
the profile, the Art. 30 record, the notice, retention status and the statistics charts; axe runs on
every page and screenshots at desktop and phone width go to tests/artifacts/. The flow itself is
:func:`webhelp.admin_flow`, so the subject's flow can be chained before it."""

from __future__ import annotations

from typing import Any

import pytest

from callvault import get_request, list_requests, pending_sessions
from test_web_browser import AXE, browser, check_page  # noqa: F401  (browser: the fixture)
from webhelp import ADDRESS, admin_flow, make_admin_case, make_site, served


@pytest.mark.slow
def test_admin_flow_in_the_browser(vault, browser) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    made = make_admin_case(vault, make_site(vault))
    secrets = [ADDRESS, made["alice"], made["admin"], made["request"], made["session"]]
    with served(vault) as base:
        context = browser.new_context(bypass_csp=bool(AXE.exists()))
        admin = context.new_page()

        def check(page: Any, name: str) -> None:
            check_page(page, name, secrets)

        admin_flow(admin, base, made, check)
        admin.click("a[hreflang=da]")
        assert admin.locator("h1").first.inner_text() == "Opkald pr. dag (seneste 30 dage)"
        admin.click("a[href='/admin/support']")
        assert admin.locator("h1").inner_text() == "Supportsessioner"
        check(admin, "admin-support-da")
        context.close()
    assert get_request(vault, "acme", made["request"]).state == "completed"
    assert pending_sessions(vault, "acme") == []
    assert any(r.state == "completed" for r in list_requests(vault, tenant="acme"))
