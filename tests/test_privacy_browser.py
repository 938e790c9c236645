"""The privacy centre's subject flow in a real browser (Debian's chromium through Playwright): the
subject signs in with the code the local SMTP server received, sees its data, withdraws consent,
downloads its access export (the zip's contents checked) and asks for erasure, which it then sees
listed with its due date. The flow is :func:`webhelp.subject_flow`, so the admin part can follow it;
axe runs and screenshots are saved on each page (``check_page``)."""

from __future__ import annotations

import pytest

from callvault import list_requests
from test_web_browser import AXE, browser, check_page  # noqa: F401  (the fixture is used by name)
from webhelp import ADDRESS, make_site, served, smtp_server, subject_flow


@pytest.mark.slow
def test_the_subject_exercises_its_rights_in_the_browser(vault, browser, monkeypatch) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    made = make_site(vault)
    secrets = [ADDRESS, made["alice"], made["admin"]]
    with smtp_server() as (mailbox, smtp_url), served(vault) as base:
        monkeypatch.setenv("CALLVAULT_SMTP_URL", smtp_url)
        context = browser.new_context(bypass_csp=bool(AXE.exists()), accept_downloads=True)
        page = context.new_page()
        seen = subject_flow(page, base, mailbox, check_page, secrets)
        assert {"subject.json", "calls.csv"} <= set(seen["zip_names"])
        for value in secrets:
            assert value not in page.url
        context.close()
    asked = [r for r in list_requests(vault, tenant="acme") if r.channel == "privacy_centre"]
    assert sorted((r.type, r.state) for r in asked) == [
        ("access", "completed"),
        ("erasure", "pending"),
    ]
    erasure = next(r for r in asked if r.type == "erasure")
    assert seen["erasure_due"] == erasure.due_at.date().isoformat()
