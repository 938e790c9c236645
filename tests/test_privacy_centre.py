"""The privacy centre's rights and its stored state over HTTP (no browser), on SQLite and PostgreSQL:
the subject downloads its access export, asks for erasure and rectification, follows and cancels
its requests; every route refuses no session, another tenant's session and a missing CSRF token;
codes and sessions live in the database as keyed hashes (a restart keeps them, a second app serves
them); asking for a code does the same work whether the address is held; per-client limits."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, text

from callvault import (
    SignInCodes,
    Unauthenticated,
    Verification,
    audit_entries,
    list_requests,
    rectify,
    requested_value,
)
from callvault.api import create_app
from factories import make_tenant, make_user
from webhelp import ADDRESS, catch_codes, csrf_of, make_site, sign_in_http

ROUTES = ["/export", "/erasure", "/rectification", "/requests/cancel", "/consent"]


def _client(vault: Any) -> TestClient:
    return TestClient(create_app(vault), base_url="https://testserver")


@pytest.fixture
def site(vault, monkeypatch):  # type: ignore[no-untyped-def]
    made = make_site(vault)
    codes = catch_codes(monkeypatch)
    return vault, _client(vault), made, codes


def _dump(vault: Any, table: str) -> str:
    with vault.engine.connect() as conn:
        return json.dumps(
            [[str(v) for v in row] for row in conn.execute(text(f"SELECT * FROM {table}"))]
        )


def test_the_subject_downloads_its_access_export(site) -> None:  # type: ignore[no-untyped-def]
    vault, client, made, codes = site
    csrf = sign_in_http(client, codes)
    response = client.post("/privacy/acme/export", data={"csrf": csrf})
    assert response.status_code == 200 and response.headers["content-type"] == "application/zip"
    assert response.headers["content-disposition"] == 'attachment; filename="access-export.zip"'
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        assert {"subject.json", "calls.csv"} <= set(archive.namelist())
        document = json.loads(archive.read("subject.json"))
    assert document["subject"] == made["alice"] and len(document["calls"]) == 1
    access = [r for r in list_requests(vault, tenant="acme") if r.type == "access"]
    assert [(r.channel, r.state, r.verification_method) for r in access] == [
        ("privacy_centre", "completed", "one_time_code")
    ]
    entry = audit_entries(vault, "acme", limit=1, action="subject.access")[0]
    assert entry["actor"] == f"subject:{made['alice']}" and entry["outcome"] == "allow"


def test_erasure_is_asked_for_not_done(site) -> None:  # type: ignore[no-untyped-def]
    vault, client, made, codes = site
    csrf = sign_in_http(client, codes)
    page = client.post("/privacy/acme/erasure", data={"csrf": csrf})
    assert page.status_code == 200 and page.url.path == "/privacy/acme/requests"
    assert "Your request is received" in page.text
    mine = [r for r in list_requests(vault, tenant="acme") if r.channel == "privacy_centre"]
    assert [(r.type, r.state, r.verification_method) for r in mine] == [
        ("erasure", "pending", "one_time_code")
    ]
    assert mine[0].due_at.date().isoformat() in page.text  # one month after receipt, Art. 12(3)
    assert (mine[0].due_at - mine[0].received_at) >= timedelta(days=28)
    assert client.get("/privacy/acme/me").status_code == 200  # nothing erased yet
    assert made["alice"] not in page.text and ADDRESS not in page.text


def test_rectification_checks_the_value_and_keeps_it_sealed(site) -> None:  # type: ignore[no-untyped-def]
    vault, client, made, codes = site
    csrf = sign_in_http(client, codes)
    bad = client.post("/privacy/acme/rectification",
                      data={"csrf": csrf, "field": "email", "value": "not-an-address"})  # fmt: skip
    assert bad.status_code == 422 and "The new e-mail address is not valid." in bad.text
    assert "not-an-address" not in bad.text
    bad_phone = client.post("/privacy/acme/rectification?lang=da",
                            data={"csrf": csrf, "field": "phone", "value": "12"})  # fmt: skip
    assert bad_phone.status_code == 422 and "telefonnummer er ikke gyldigt" in bad_phone.text
    assert not [r for r in list_requests(vault, tenant="acme") if r.type == "rectification"]
    good = client.post("/privacy/acme/rectification",
                       data={"csrf": csrf, "field": "email", "value": "alice.a@acme.dk"})  # fmt: skip
    assert good.status_code == 200 and good.url.path == "/privacy/acme/requests"
    request = next(r for r in list_requests(vault, tenant="acme") if r.type == "rectification")
    assert request.state == "pending" and "alice.a@acme.dk" not in _dump(vault, "subject_requests")
    field, value = requested_value(vault, "acme", request.request_id, actor="tenant-admin:hr")
    assert (field, value) == ("email", "alice.a@acme.dk")
    done = rectify(vault, "acme", made["alice"], field, value, actor="tenant-admin:hr",
                   verification=Verification.operator("tenant-admin:hr"),
                   request_id=request.request_id)  # fmt: skip
    assert done["request"] == request.request_id
    assert next(r for r in list_requests(vault, tenant="acme")
                if r.request_id == request.request_id).state == "completed"  # fmt: skip


def test_the_subject_follows_and_cancels_only_its_own_pending_requests(site) -> None:  # type: ignore[no-untyped-def]
    vault, client, _, codes = site
    bob = make_user(
        vault, name="Bob Berg", email="bob@acme.dk", phone="+4522334466", extension="202"
    )
    from callvault import create_request

    bobs = create_request(vault, "acme", bob, "erasure")
    csrf = sign_in_http(client, codes)
    client.post("/privacy/acme/erasure", data={"csrf": csrf})
    page = client.get("/privacy/acme/requests")
    assert (
        page.text.count('data-request-type="erasure"') == 2
    )  # make_site's and this one; not Bob's
    assert bobs.request_id not in page.text
    refused = client.post(
        "/privacy/acme/requests/cancel", data={"csrf": csrf, "request": bobs.request_id}
    )
    assert refused.status_code == 403
    mine = next(r for r in list_requests(vault, tenant="acme") if r.channel == "privacy_centre")
    done = client.post(
        "/privacy/acme/requests/cancel", data={"csrf": csrf, "request": mine.request_id}
    )
    assert done.status_code == 200 and "Your request is cancelled." in done.text
    states = {r.request_id: r.state for r in list_requests(vault, tenant="acme")}
    assert states[mine.request_id] == "cancelled" and states[bobs.request_id] == "pending"
    again = client.post(
        "/privacy/acme/requests/cancel", data={"csrf": csrf, "request": mine.request_id}
    )
    assert again.status_code == 403  # only a pending one


@pytest.mark.parametrize("route", ROUTES)
def test_every_rights_route_refuses_no_session_no_csrf_and_another_tenant(site, route) -> None:  # type: ignore[no-untyped-def]
    vault, client, _, codes = site
    make_tenant(vault, "other")
    fields = {"field": "name", "value": "A", "purpose": "personalisation", "request": "x"}
    anonymous = _client(vault)
    csrf = csrf_of(anonymous.get("/privacy/acme/").text)
    assert anonymous.post(f"/privacy/acme{route}", data={**fields, "csrf": csrf}).status_code == 403
    signed = sign_in_http(client, codes)
    assert client.post(f"/privacy/acme{route}", data=fields).status_code == 403
    assert client.post(f"/privacy/other{route}", data={**fields, "csrf": signed}).status_code == 403
    assert client.get("/privacy/other/requests", follow_redirects=False).status_code == 303
    assert not [r for r in list_requests(vault, tenant="acme") if r.channel == "privacy_centre"]


def test_an_expired_or_reused_code_does_not_sign_in(site, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    vault, client, _, codes = site
    client.app.state.web_codes = SignInCodes(vault, ttl=timedelta(0))  # type: ignore[attr-defined]
    csrf = csrf_of(client.get("/privacy/acme/").text)
    csrf = csrf_of(client.post("/privacy/acme/code", data={"address": ADDRESS, "csrf": csrf}).text)
    expired = client.post("/privacy/acme/code/verify", data={"code": codes[-1], "csrf": csrf})
    assert expired.status_code == 401 and "wrong or has expired" in expired.text
    client.app.state.web_codes = SignInCodes(vault)  # type: ignore[attr-defined]
    sign_in_http(client, codes)
    reuse = _client(vault)
    csrf = csrf_of(reuse.get("/privacy/acme/").text)
    csrf = csrf_of(reuse.post("/privacy/acme/code", data={"address": ADDRESS, "csrf": csrf}).text)
    # the code the first client already redeemed, entered again (a newer one is pending)
    page = reuse.post("/privacy/acme/code/verify", data={"code": codes[-2], "csrf": csrf})
    assert page.status_code == 401 and "wrong or has expired" in page.text


def test_codes_and_sessions_survive_a_restart_and_hold_no_secret(site) -> None:  # type: ignore[no-untyped-def]
    vault, client, made, codes = site
    csrf = csrf_of(client.get("/privacy/acme/").text)
    csrf = csrf_of(client.post("/privacy/acme/code", data={"address": ADDRESS, "csrf": csrf}).text)
    restarted = _client(vault)  # another process: a new app on the same database
    restarted.cookies.update(client.cookies)
    page = restarted.post("/privacy/acme/code/verify", data={"code": codes[-1], "csrf": csrf})
    assert page.url.path == "/privacy/acme/me"
    sid = restarted.cookies.get("cv_session")
    third = _client(vault)
    third.cookies.set("cv_session", sid or "")
    assert third.get("/privacy/acme/me").status_code == 200
    admin = _client(vault)
    admin_csrf = csrf_of(admin.get("/admin/login").text)
    admin.post("/admin/login", data={"token": made["admin"], "csrf": admin_csrf})
    stored = _dump(vault, "web_sessions") + _dump(vault, "sign_in_codes")
    for secret in (sid, codes[-1], ADDRESS, made["admin"], admin.cookies.get("cv_session")):
        assert secret and secret not in stored
    with vault.engine.connect() as conn:
        kinds = sorted(r[0] for r in conn.execute(text("SELECT kind FROM web_sessions")))
    assert kinds == ["admin", "subject"]  # the anonymous visits stored nothing
    admin2 = _client(vault)
    admin2.cookies.update(admin.cookies)
    assert admin2.get("/admin/requests").status_code == 200  # the admin's token opens again
    restarted.post("/privacy/acme/logout", data={"csrf": csrf_of(page.text)})
    assert third.get("/privacy/acme/me", follow_redirects=False).status_code == 303


def _statements(vault: Any, work: Any) -> list[str]:
    seen: list[str] = []

    def note(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    event.listen(vault.engine, "before_cursor_execute", note)
    try:
        work()
    finally:
        event.remove(vault.engine, "before_cursor_execute", note)
    return seen


def _ask(vault: Any, address: str) -> tuple[list[str], tuple[int, str]]:
    """The SQL one visitor's "send me a code" runs, and the answer it gets."""
    visitor = _client(vault)
    csrf = csrf_of(visitor.get("/privacy/acme/").text)
    answer: list[Any] = []
    shape = _statements(vault, lambda: answer.append(visitor.post(
        "/privacy/acme/code", data={"address": address, "csrf": csrf}, follow_redirects=False)))  # fmt: skip
    return shape, (answer[0].status_code, answer[0].headers["location"])


def test_asking_for_a_code_does_the_same_work_held_or_not(site) -> None:  # type: ignore[no-untyped-def]
    vault, _, _, codes = site
    shapes, pages = [], []
    for address in (ADDRESS, "nobody@acme.dk", ADDRESS, "someone@else.dk"):
        shape, answer = _ask(vault, address)
        shapes.append(shape)
        pages.append(answer)
    assert shapes[0] == shapes[1] == shapes[2] == shapes[3] and len(shapes[0]) >= 4
    assert len(set(pages)) == 1 and len(codes) == 2  # mailed only to the held address
    entries = audit_entries(vault, "acme", action="subject.sign_in.code")
    assert sorted(e["outcome"] for e in entries) == ["deny", "deny", "ok", "ok"]
    assert all("nobody" not in json.dumps(e, default=str) for e in entries)


def test_a_client_asking_or_guessing_too_often_gets_429(site) -> None:  # type: ignore[no-untyped-def]
    vault, client, _, codes = site
    client.app.state.web_codes = SignInCodes(vault, client_per_hour=2, client_entries_per_hour=3)  # type: ignore[attr-defined]
    csrf = csrf_of(client.get("/privacy/acme/").text)
    answers = []
    for i in range(3):
        asked = client.post("/privacy/acme/code", data={"address": f"x{i}@acme.dk", "csrf": csrf})
        answers.append(asked.status_code)
        if asked.status_code == 200:
            csrf = csrf_of(asked.text)  # each answered ask starts a fresh session
    assert answers == [200, 200, 429]
    page = client.post("/privacy/acme/code", data={"address": ADDRESS, "csrf": csrf})
    assert page.status_code == 429 and "Too many sign-in attempts" in page.text and codes == []
    guesses = [client.post("/privacy/acme/code/verify", data={"code": "000001", "csrf": csrf}).status_code
               for _ in range(4)]  # fmt: skip
    assert guesses == [401, 401, 401, 429]
    denied = [e for e in audit_entries(vault, "acme") if e["reason"] == "rate limited"]
    assert {e["action"] for e in denied} == {"subject.sign_in.code", "subject.sign_in"}
    assert all(
        "testclient" not in json.dumps(e, default=str) and ADDRESS not in json.dumps(e, default=str)
        for e in denied
    )


def test_an_erased_subject_loses_its_sessions(site) -> None:  # type: ignore[no-untyped-def]
    from callvault import erase

    vault, client, made, codes = site
    sign_in_http(client, codes)
    erase(vault, "acme", made["alice"], verification=Verification.operator())
    assert client.get("/privacy/acme/me", follow_redirects=False).status_code == 303
    with pytest.raises(Unauthenticated):
        SignInCodes(vault).redeem("acme", ADDRESS, codes[-1])


def test_asking_for_a_code_signs_the_subject_out_even_for_another_tenant(site) -> None:  # type: ignore[no-untyped-def]
    vault, client, _, codes = site
    make_tenant(vault, "globex")
    make_user(vault, "globex", email="bob@globex.dk")
    signed = sign_in_http(client, codes)
    old_sid = client.cookies.get("cv_session")
    asked = client.post("/privacy/globex/code", data={"address": "bob@globex.dk", "csrf": signed})
    assert asked.status_code == 200 and asked.url.path == "/privacy/globex/code"
    assert client.cookies.get("cv_session") != old_sid  # a fresh session, the old one dropped
    assert client.get("/privacy/acme/me", follow_redirects=False).status_code == 303
    stale = _client(vault)
    stale.cookies.set("cv_session", old_sid or "")
    assert stale.get("/privacy/acme/me", follow_redirects=False).status_code == 303
    again = sign_in_http(client, codes)  # asking again in the same tenant also signs out first
    old_sid = client.cookies.get("cv_session")
    client.post("/privacy/acme/code", data={"address": ADDRESS, "csrf": again})
    stale.cookies.set("cv_session", old_sid or "")
    assert stale.get("/privacy/acme/me", follow_redirects=False).status_code == 303


def test_a_code_entered_with_no_live_code_is_an_audited_refusal(site) -> None:  # type: ignore[no-untyped-def]
    vault, client, _, _ = site
    csrf = csrf_of(client.get("/privacy/acme/").text)
    csrf = csrf_of(
        client.post("/privacy/acme/code", data={"address": "nobody@acme.dk", "csrf": csrf}).text
    )
    before = len(audit_entries(vault, "acme", action="subject.sign_in"))
    page = client.post("/privacy/acme/code/verify", data={"code": "123456", "csrf": csrf})
    assert page.status_code == 401
    entries = audit_entries(vault, "acme", action="subject.sign_in")
    assert len(entries) == before + 1
    entry = entries[0]  # the newest
    assert (entry["actor"], entry["outcome"], entry["subject_id"]) == ("anonymous", "deny", None)
    dumped = json.dumps(entry, default=str)
    assert "123456" not in dumped and "nobody" not in dumped
