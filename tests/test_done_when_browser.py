"""Issue 15's Done-when in one browser run (Debian's chromium through Playwright): a subject signs
in with the code the local SMTP server received, sees its data, withdraws consent, downloads its
export and asks for erasure (:func:`webhelp.subject_flow`); then the tenant admin sees that very
request as due, completes it, approves a support session, and sees retention status and the
statistics chart (:func:`webhelp.admin_flow`). axe runs and screenshots are saved on every page."""

from __future__ import annotations

from typing import Any

import pytest

from callvault import NotFound, list_requests, pending_sessions, read_subject, request_session
from test_web_browser import AXE, browser, check_page  # noqa: F401  (the fixture is used by name)
from webhelp import ADDRESS, admin_flow, make_site, served, smtp_server, subject_flow


@pytest.mark.slow
def test_subject_asks_and_admin_completes_in_the_browser(vault, browser, monkeypatch) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    made = make_site(vault)
    session = request_session(vault, "acme", ticket="T-7", engineer="eve", subjects=[made["alice"]])
    secrets = [ADDRESS, made["alice"], made["admin"], session.session_id]
    with smtp_server() as (mailbox, smtp_url), served(vault) as base:
        monkeypatch.setenv("CALLVAULT_SMTP_URL", smtp_url)
        context = browser.new_context(bypass_csp=bool(AXE.exists()), accept_downloads=True)
        subject = context.new_page()
        seen = subject_flow(subject, base, mailbox, check_page, secrets)
        asked = [r for r in list_requests(vault, tenant="acme") if r.channel == "privacy_centre"]
        erasure = next(r for r in asked if r.type == "erasure")
        assert seen["erasure_due"] == erasure.due_at.date().isoformat()
        admin = browser.new_context(bypass_csp=bool(AXE.exists()))  # the admin's own browser
        page = admin.new_page()

        def check(p: Any, name: str) -> None:
            check_page(p, f"done-{name}", secrets)

        admin_flow(page, base, {**made, "request": erasure.request_id}, check)
        admin.close()
        context.close()
    done = {r.request_id: r.state for r in list_requests(vault, tenant="acme")}
    assert done[erasure.request_id] == "completed"
    assert pending_sessions(vault, "acme") == []
    with pytest.raises(NotFound):  # erased: no read finds the subject any more
        read_subject(vault, "acme", made["alice"], "personalisation", actor="app")
