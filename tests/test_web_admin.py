"""The admin console's actions over HTTP (no browser), on SQLite and PostgreSQL: the request queue's
actions (open, in progress, extend, complete, refuse, cancel), support-session approvals, the
profile, Art. 30 record and notice pages, the outcome charts and the SSO sign-in; with the refusals
each must give (no session, revoked token, another tenant's id, no CSRF token)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from callvault import (
    PolicyRefusal,
    audit_entries,
    authenticate,
    create_request,
    create_token,
    get_request,
    list_requests,
    pending_sessions,
    read_subject,
    request_session,
    revoke_token,
)
from callvault.api import create_app
from factories import make_tenant, make_user
from webhelp import ADDRESS, make_admin_case, make_site

SECRET = "s" * 40


@pytest.fixture
def site(vault, monkeypatch):  # type: ignore[no-untyped-def]
    for name in ("CALLVAULT_ADMIN_SSO_USER_HEADER", "CALLVAULT_ADMIN_SSO_TENANT_HEADER",
                 "CALLVAULT_ADMIN_SSO_SECRET"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    made = make_admin_case(vault, make_site(vault))
    client = TestClient(create_app(vault), base_url="https://testserver")
    return vault, client, made


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found
    return found.group(1)


def _sign_in(client: TestClient, token: str) -> str:
    csrf = _csrf(client.get("/admin/login").text)
    page = client.post("/admin/login", data={"token": token, "csrf": csrf})
    assert page.status_code == 200, page.text
    return _csrf(page.text)


def _act(client: TestClient, csrf: str, request_id: str, action: str, **extra: str) -> Any:
    data = {"csrf": csrf, "request": request_id, "action": action, **extra}
    return client.post("/admin/requests/act", data=data)


def test_opening_a_request_shows_it_without_its_id_in_the_url(site) -> None:  # type: ignore[no-untyped-def]
    _, client, made = site
    csrf = _sign_in(client, made["admin"])
    page = client.post("/admin/requests/open", data={"csrf": csrf, "request": made["request"]})
    assert page.status_code == 200 and 'data-state="pending"' in page.text
    assert "one_time_code" in page.text and made["alice"] not in page.text
    assert page.url.path == "/admin/requests/open" and ADDRESS not in page.text


def test_completing_an_erasure_erases_and_records_the_admin(site) -> None:  # type: ignore[no-untyped-def]
    vault, client, made = site
    csrf = _sign_in(client, made["admin"])
    page = _act(client, csrf, made["request"], "complete")
    assert page.status_code == 200 and 'data-state="completed"' in page.text
    assert 'id="outcome">erased' in page.text and 'role="status"' in page.text
    done = get_request(vault, "acme", made["request"])
    assert done.state == "completed" and done.evidence["erased"]
    assert done.verification_method == "one_time_code"  # the subject's proof stays on record
    assert audit_entries(vault, "acme", action="subject.erase")[0]["actor"] == "tenant-admin:hr"
    again = _act(client, csrf, made["request"], "complete")
    assert again.status_code == 422 and 'role="alert"' in again.text


def test_start_extend_refuse_and_cancel(site) -> None:  # type: ignore[no-untyped-def]
    vault, client, made = site
    csrf = _sign_in(client, made["admin"])
    rid = made["request"]
    assert _act(client, csrf, rid, "start").status_code == 200
    assert get_request(vault, "acme", rid).state == "in_progress"
    bad = _act(client, csrf, rid, "extend", months="3", reason="complex")
    assert bad.status_code == 422 and "months" in bad.text
    none = _act(client, csrf, rid, "extend", months="1", reason=" ")
    assert none.status_code == 422 and "reason" in none.text
    today = datetime.now(UTC).date().isoformat()
    ok = _act(client, csrf, rid, "extend", months="2", reason="many records", notice_at=today)
    assert ok.status_code == 200 and "Extended" in ok.text
    extended = get_request(vault, "acme", rid)
    assert extended.extended and extended.extension_reason == "many records"
    assert extended.due_at.date() > (datetime.now(UTC) + timedelta(days=80)).date()
    assert _act(client, csrf, rid, "refuse", reason="").status_code == 422
    refused = _act(client, csrf, rid, "refuse", reason="manifestly unfounded")
    assert refused.status_code == 200
    assert get_request(vault, "acme", rid).outcome == "manifestly unfounded"
    states = [e["details"]["to"] for e in audit_entries(vault, "acme", action="request.state")]
    assert states[:2] == ["refused", "in_progress"]  # newest first
    other = create_request(vault, "acme", made["alice"], "access").request_id
    assert _act(client, csrf, other, "cancel").status_code == 200
    assert get_request(vault, "acme", other).state == "cancelled"


def test_an_extension_after_the_first_month_is_refused(site) -> None:  # type: ignore[no-untyped-def]
    vault, client, made = site
    csrf = _sign_in(client, made["admin"])
    late = next(r for r in list_requests(vault, tenant="acme") if r.overdue())
    page = _act(client, csrf, late.request_id, "extend", months="1", reason="busy")
    assert page.status_code == 422 and "Art. 12(3)" in page.text
    assert not get_request(vault, "acme", late.request_id).extended


def test_an_unverified_request_needs_the_admins_identity_check(site) -> None:  # type: ignore[no-untyped-def]
    vault, client, made = site
    csrf = _sign_in(client, made["admin"])
    rid = create_request(vault, "acme", made["alice"], "restriction").request_id
    refused = _act(client, csrf, rid, "complete")
    assert refused.status_code == 422 and "identity" in refused.text
    done = _act(client, csrf, rid, "complete", identity_checked="yes")
    assert done.status_code == 200 and get_request(vault, "acme", rid).outcome == "restricted"


def test_rectification_objection_and_access_complete(site) -> None:  # type: ignore[no-untyped-def]
    vault, client, made = site
    csrf = _sign_in(client, made["admin"])
    new = "alice.new@acme.dk"
    rid = create_request(vault, "acme", made["alice"], "rectification").request_id
    page = _act(client, csrf, rid, "complete", identity_checked="yes", field="email", value=new)
    assert page.status_code == 200 and new not in page.text
    assert get_request(vault, "acme", rid).outcome == "email rectified"
    rid = create_request(vault, "acme", made["alice"], "objection").request_id
    page = _act(client, csrf, rid, "complete", identity_checked="yes", purpose="customer_service")
    assert page.status_code == 200 and get_request(vault, "acme", rid).state == "completed"
    rid = create_request(vault, "acme", made["alice"], "access").request_id
    export = _act(client, csrf, rid, "complete", identity_checked="yes")
    assert export.status_code == 422 and "privacy centre" in export.text  # the subject's own
    assert get_request(vault, "acme", rid).state == "pending"
    assert (
        'id="complete-form"'
        not in client.post("/admin/requests/open", data={"csrf": csrf, "request": rid}).text
    )


def test_request_actions_refuse_without_session_csrf_or_live_token(site) -> None:  # type: ignore[no-untyped-def]
    vault, client, made = site
    rid = made["request"]
    client.get("/admin/login")
    anonymous = client.post("/admin/requests/act", data={"request": rid, "action": "cancel",
                                                         "csrf": "x"}, follow_redirects=False)  # fmt: skip
    assert anonymous.status_code == 403
    csrf = _sign_in(client, made["admin"])
    forged = client.post("/admin/requests/act", data={"request": rid, "action": "cancel"})
    assert forged.status_code == 403
    opened = client.post("/admin/requests/open", data={"request": rid, "csrf": "nope"})
    assert opened.status_code == 403
    revoke_token(vault, authenticate(vault, made["admin"]).token_id)
    gone = _act(client, csrf, rid, "cancel")
    assert gone.status_code == 303 or gone.url.path == "/admin/login"
    assert get_request(vault, "acme", rid).state == "pending"


def test_another_tenants_request_is_not_found_and_learns_nothing(site) -> None:  # type: ignore[no-untyped-def]
    vault, client, made = site
    make_tenant(vault, "globex")
    bob = make_user(vault, "globex", email="bob@globex.dk")
    theirs = create_request(vault, "globex", bob, "erasure").request_id
    csrf = _sign_in(client, made["admin"])
    pages = [client.post(path, data={"csrf": csrf, "request": rid, "action": "cancel"})
             for path in ("/admin/requests/open", "/admin/requests/act")
             for rid in (theirs, "00000000-0000-4000-8000-000000000000", "not-a-uuid")]  # fmt: skip
    assert {p.status_code for p in pages} == {404}
    assert len({re.sub(r'value="[^"]+"|/admin/requests/\w+\?', "", p.text) for p in pages}) == 1
    assert get_request(vault, "globex", theirs).state == "pending"


def test_support_sessions_are_approved_or_denied(site) -> None:  # type: ignore[no-untyped-def]
    vault, client, made = site
    second = request_session(vault, "acme", ticket="T-8", engineer="joe", subjects=[made["alice"]])
    csrf = _sign_in(client, made["admin"])
    listing = client.get("/admin/support")
    assert 'data-ticket="T-7"' in listing.text and 'data-ticket="T-8"' in listing.text
    assert made["alice"] not in listing.text
    with pytest.raises(PolicyRefusal, match="no support session"):  # not approved: no session
        read_subject(vault, "acme", made["alice"], "error_diagnosis", "support:eve", ticket="T-7")
    ok = client.post("/admin/support/decide", data={"csrf": csrf, "session": made["session"],
                                                    "decision": "approve", "hours": "2"})  # fmt: skip
    assert ok.status_code == 200 and "approved" in ok.text
    read = read_subject(
        vault, "acme", made["alice"], "error_diagnosis", "support:eve", ticket="T-7"
    )
    assert read
    opened = audit_entries(vault, "acme", action="support.open")[-1]
    assert opened["actor"] == "tenant-admin:hr" and opened["outcome"] == "ok"
    no = client.post("/admin/support/decide", data={"csrf": csrf, "session": second.session_id,
                                                    "decision": "deny", "reason": ""})  # fmt: skip
    assert no.status_code == 422
    no = client.post("/admin/support/decide", data={"csrf": csrf, "session": second.session_id,
                                                    "decision": "deny", "reason": "not needed"})  # fmt: skip
    assert no.status_code == 200 and pending_sessions(vault, "acme") == []
    assert audit_entries(vault, "acme", action="support.deny")[-1]["reason"] == "not needed"
    twice = client.post("/admin/support/decide", data={"csrf": csrf, "session": second.session_id,
                                                       "decision": "approve", "hours": "1"})  # fmt: skip
    assert twice.status_code == 404


def test_support_decisions_refuse_csrf_other_tenant_and_no_session(site) -> None:  # type: ignore[no-untyped-def]
    vault, client, made = site
    make_tenant(vault, "globex")
    bob = make_user(vault, "globex", email="bob@globex.dk")
    theirs = request_session(vault, "globex", ticket="G-1", engineer="eve", subjects=[bob])
    assert client.get("/admin/support", follow_redirects=False).status_code == 303
    csrf = _sign_in(client, made["admin"])
    data = {"session": made["session"], "decision": "approve", "hours": "1"}
    assert client.post("/admin/support/decide", data=data).status_code == 403
    other = client.post("/admin/support/decide", data={**data, "csrf": csrf,
                                                       "session": theirs.session_id})  # fmt: skip
    assert other.status_code == 404 and "G-1" not in other.text
    assert len(pending_sessions(vault, "globex")) == 1 and len(pending_sessions(vault, "acme")) == 1
    revoke_token(vault, authenticate(vault, made["admin"]).token_id)
    gone = client.post("/admin/support/decide", data={**data, "csrf": csrf}, follow_redirects=False)
    assert gone.status_code == 303 and gone.headers["location"] == "/admin/login"
    client.cookies.clear()
    assert client.post("/admin/support/decide", data={**data, "csrf": csrf}).status_code == 403
    assert len(pending_sessions(vault, "acme")) == 1


@pytest.mark.parametrize("path,marker", [("/admin/profile", 'id="collects"'),
                                         ("/admin/records", 'id="records"'),
                                         ("/admin/notice", 'id="notice"'),
                                         ("/admin/support", "T-7")])  # fmt: skip
def test_the_documents_pages(site, path, marker) -> None:  # type: ignore[no-untyped-def]
    vault, client, made = site
    assert client.get(path, follow_redirects=False).headers["location"] == "/admin/login"
    _sign_in(client, made["admin"])
    page = client.get(path)
    assert page.status_code == 200 and marker in page.text
    assert "<script" not in page.text and " style=" not in page.text
    assert made["alice"] not in page.text and ADDRESS not in page.text
    danish = client.get(f"{path}?lang=da")
    assert 'lang="da"' in danish.text
    revoke_token(vault, authenticate(vault, made["admin"]).token_id)
    assert client.get(path, follow_redirects=False).status_code == 303


def test_the_profile_shows_the_agreement(site) -> None:  # type: ignore[no-untyped-def]
    _, client, made = site
    _sign_in(client, made["admin"])
    page = client.get("/admin/profile").text
    assert "SSA-1" in page and "user.contact.email" in page


def test_statistics_chart_by_direction_and_outcome(site) -> None:  # type: ignore[no-untyped-def]
    _, client, made = site
    _sign_in(client, made["admin"])
    page = client.get("/admin/statistics").text
    assert page.count("<desc ") >= 2 and 'class="outcome-chart"' in page
    assert re.search(r'data-group="answered"', page)
    assert '<th scope="col">Outcome</th>' in page


def _sso_env(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("CALLVAULT_ADMIN_SSO_USER_HEADER", "X-Forwarded-Preferred-Username")
    monkeypatch.setenv("CALLVAULT_ADMIN_SSO_TENANT_HEADER", "X-Callvault-Tenant")
    monkeypatch.setenv("CALLVAULT_ADMIN_SSO_SECRET", SECRET)


def _proxy(user: str = "hr-sso", tenant: str = "acme", secret: str = SECRET) -> dict[str, str]:
    return {"X-Forwarded-Preferred-Username": user, "X-Callvault-Tenant": tenant,
            "X-Callvault-Proxy-Secret": secret}  # fmt: skip


def test_sso_is_off_unless_configured(site) -> None:  # type: ignore[no-untyped-def]
    _, client, _ = site
    page = client.get("/admin/login", headers=_proxy())
    assert 'value="sso"' not in page.text
    refused = client.post("/admin/login", data={"csrf": _csrf(page.text), "method": "sso"},
                          headers=_proxy())  # fmt: skip
    assert refused.status_code == 401
    assert client.get("/admin/requests", follow_redirects=False).status_code == 303


def test_sso_signs_in_through_the_proxy_only(site, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    vault, client, made = site
    _sso_env(monkeypatch)
    page = client.get("/admin/login")
    assert 'value="sso"' in page.text
    csrf = _csrf(page.text)
    for headers in (_proxy(secret="wrong" * 8), _proxy(user="hr@acme.dk"), _proxy(tenant="nosuch"),
                    {k: v for k, v in _proxy().items() if k != "X-Callvault-Tenant"}):  # fmt: skip
        bad = client.post("/admin/login", data={"csrf": csrf, "method": "sso"}, headers=headers)
        assert bad.status_code == 401 and "hr@acme.dk" not in bad.text
    ok = client.post("/admin/login", data={"csrf": csrf, "method": "sso"}, headers=_proxy())
    assert ok.status_code == 200 and "<h1>Requests</h1>" in ok.text
    csrf = _csrf(ok.text)
    done = client.post("/admin/requests/act", headers=_proxy(),
                       data={"csrf": csrf, "request": made["request"], "action": "start"})  # fmt: skip
    assert done.status_code == 200
    assert (
        audit_entries(vault, "acme", action="request.state")[-1]["actor"] == "tenant-admin:hr-sso"
    )
    # the proxy must vouch on every page: without it, or for another tenant, the session ends
    assert client.get("/admin/audit", headers=_proxy(tenant="globex"),
                      follow_redirects=False).status_code == 303  # fmt: skip
    assert client.get("/admin/audit", headers=_proxy(), follow_redirects=False).status_code == 303


def test_a_half_configured_sso_is_a_config_error(site, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from callvault import ConfigError
    from callvault.web.admin_auth import configured_sso

    assert configured_sso({}) is None
    with pytest.raises(ConfigError):
        configured_sso({"CALLVAULT_ADMIN_SSO_USER_HEADER": "X-User"})
    with pytest.raises(ConfigError):
        configured_sso({"CALLVAULT_ADMIN_SSO_USER_HEADER": "X-User",
                        "CALLVAULT_ADMIN_SSO_TENANT_HEADER": "X-T",
                        "CALLVAULT_ADMIN_SSO_SECRET": "short"})  # fmt: skip


def test_a_non_admin_token_still_cannot_sign_in(site) -> None:  # type: ignore[no-untyped-def]
    vault, client, _ = site
    engineer, _ = create_token(vault, "acme", "support_engineer", name="eve")
    csrf = _csrf(client.get("/admin/login").text)
    assert client.post("/admin/login", data={"csrf": csrf, "token": engineer}).status_code == 401


def _title(html: str) -> str:
    found = re.search(r"<title>(.*?)</title>", html, re.S)
    assert found
    return found.group(1)


def test_no_page_title_holds_a_csrf_token_or_an_identifier(site, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from webhelp import catch_codes, sign_in_http

    vault, client, made = site
    codes = catch_codes(monkeypatch)
    subject_csrf = sign_in_http(client, codes)
    pages = [client.get(p) for p in ("/privacy/acme/me", "/privacy/acme/requests")]
    admin = TestClient(create_app(vault), base_url="https://testserver")
    admin_csrf = _csrf(admin.get("/admin/login").text)
    pages.append(admin.post("/admin/login", data={"token": made["admin"], "csrf": admin_csrf}))
    admin_csrf = _csrf(pages[-1].text)
    for path in ("/admin/requests", "/admin/support", "/admin/audit", "/admin/retention",
                 "/admin/profile", "/admin/records", "/admin/notice", "/admin/statistics"):  # fmt: skip
        pages.append(admin.get(path))
    pages.append(admin.post("/admin/requests/open",
                            data={"csrf": admin_csrf, "request": made["request"]}))  # fmt: skip
    secrets = (subject_csrf, admin_csrf, made["alice"], made["admin"], made["request"], ADDRESS)
    for page in pages:
        assert page.status_code == 200, page.url
        title = _title(page.text)
        assert "csrf" not in title and "<" not in title, page.url
        assert not any(s in title for s in secrets), page.url


def test_refused_sign_ins_and_not_found_pages_are_audited_without_values(site, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    vault, client, made = site
    _sso_env(monkeypatch)
    csrf = _csrf(client.get("/admin/login").text)
    wrong = "cv_" + "x" * 40
    before = len(audit_entries(vault, "_operator", action="web.admin.sign_in"))
    assert client.post("/admin/login", data={"csrf": csrf, "token": wrong}).status_code == 401
    assert client.post("/admin/login", data={"csrf": csrf, "method": "sso"},
                       headers=_proxy(secret="wrong" * 8)).status_code == 401  # fmt: skip
    newest_first = audit_entries(vault, "_operator", action="web.admin.sign_in")
    refused = newest_first[: len(newest_first) - before][::-1]
    assert [(e["actor"], e["outcome"], e["details"]) for e in refused] == [
        ("anonymous", "deny", {"method": "token"}), ("anonymous", "deny", {"method": "sso"})]  # fmt: skip
    assert all(wrong not in json.dumps(e, default=str) and "wrong" * 8 not in
               json.dumps(e, default=str) for e in refused)  # fmt: skip
    csrf = _sign_in(client, made["admin"])
    unknown = "00000000-0000-4000-8000-000000000000"
    pages = [client.post("/admin/requests/open", data={"csrf": csrf, "request": unknown}),
             client.post("/admin/requests/act", data={"csrf": csrf, "request": "nope", "action": "cancel"}),
             client.post("/admin/support/decide", data={"csrf": csrf, "session": unknown,
                                                         "decision": "deny", "reason": "no"})]  # fmt: skip
    assert [p.status_code for p in pages] == [404, 404, 404]
    entries = audit_entries(vault, "acme", action="not_found")[::-1]
    assert [e["details"]["route"] for e in entries] == [
        "POST /admin/requests/open", "POST /admin/requests/act", "POST /admin/support/decide"]  # fmt: skip
    assert all(e["actor"] == "tenant-admin:hr" and e["outcome"] == "not_found" for e in entries)
    assert all(unknown not in json.dumps(e, default=str) and "nope" not in
               json.dumps(e, default=str) for e in entries)  # fmt: skip


def _my_export(client: TestClient, csrf: str) -> str:
    """The subject's own access export (subject.json), as the subject downloads it."""
    import io
    import zipfile

    export = client.post("/privacy/acme/export", data={"csrf": csrf})
    with zipfile.ZipFile(io.BytesIO(export.content)) as archive:
        return archive.read("subject.json").decode()


def test_a_privacy_centre_rectification_reaches_the_admin_sealed_value_unseen(
    site, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    from webhelp import catch_codes, sign_in_http

    vault, client, made = site
    codes = catch_codes(monkeypatch)
    subject = TestClient(create_app(vault), base_url="https://testserver")
    mine = sign_in_http(subject, codes)
    asked = subject.post("/privacy/acme/rectification",
                         data={"csrf": mine, "field": "name", "value": "Alice Aagaard"})  # fmt: skip
    assert asked.status_code == 200
    rid = next(
        r for r in list_requests(vault, tenant="acme") if r.type == "rectification"
    ).request_id
    sealed = get_request(vault, "acme", rid).evidence["sealed_value"]
    assert "Alice Aagaard" not in _my_export(subject, mine)
    csrf = _sign_in(client, made["admin"])
    opened = client.post("/admin/requests/open", data={"csrf": csrf, "request": rid})
    assert opened.status_code == 200 and sealed not in opened.text
    assert re.search(r'id="asked-field">name<', opened.text)
    assert re.search(r'id="asked-value">Alice Aagaard<', opened.text)
    assert 'id="value"' not in opened.text  # nothing to type: the subject's own value
    seen = audit_entries(vault, "acme", action="request.value")[0]
    assert seen["actor"] == "tenant-admin:hr" and "Aagaard" not in json.dumps(seen, default=str)
    done = _act(client, csrf, rid, "complete", field="email", value="mallory@evil.dk")
    assert done.status_code == 200 and get_request(vault, "acme", rid).state == "completed"
    assert get_request(vault, "acme", rid).outcome == "name rectified"
    assert "Alice Aagaard" in _my_export(subject, mine)


def test_a_typed_rectification_must_be_of_the_field_the_request_names(site) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import text as sql

    vault, client, made = site
    # a request made elsewhere that names its field but holds no sealed value
    rid = create_request(vault, "acme", made["alice"], "rectification").request_id
    with vault.transaction() as conn:
        conn.execute(sql("UPDATE subject_requests SET evidence = :e WHERE request_id = :r"),
                     {"e": json.dumps({"field": "phone"}), "r": rid})  # fmt: skip
    csrf = _sign_in(client, made["admin"])
    wrong = _act(client, csrf, rid, "complete", identity_checked="yes", field="email",
                 value="x@acme.dk")  # fmt: skip
    assert wrong.status_code == 422 and "field: the request asks to rectify phone" in wrong.text
    assert get_request(vault, "acme", rid).state == "pending"
