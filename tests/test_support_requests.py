"""Support sessions asked for by an engineer, approved or denied by the tenant admin (library and
API), on SQLite and PostgreSQL: nothing is readable before approval, approval opens the session
under the agreement in force, a denial closes it unopened, and each is audited."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from callvault import (
    InvalidInput,
    NotFound,
    PolicyRefusal,
    approve_session,
    audit_entries,
    create_token,
    deny_session,
    pending_sessions,
    read_subject,
    request_session,
)
from callvault.api import create_app
from factories import make_tenant, make_user


def test_asked_approved_then_readable(vault) -> None:  # type: ignore[no-untyped-def]
    make_tenant(vault)
    alice = make_user(vault)
    asked = request_session(vault, "acme", ticket="T-1", engineer="eve", subjects=["alice@acme.dk"])
    assert asked.subjects == {alice} and asked.approved_by is None
    assert [s.session_id for s in pending_sessions(vault, "acme")] == [asked.session_id]
    with pytest.raises(PolicyRefusal, match="no support session"):
        read_subject(vault, "acme", alice, "error_diagnosis", "support:eve", ticket="T-1")
    with pytest.raises(PolicyRefusal, match="tenant admin"):
        approve_session(vault, "acme", asked.session_id, approved_by="support:eve", hours=1)
    assert len(pending_sessions(vault, "acme")) == 1  # a refused approval leaves it pending
    opened = approve_session(
        vault, "acme", asked.session_id, approved_by="tenant-admin:hr", hours=2
    )
    assert opened.approved_by == "tenant-admin:hr" and opened.expires_at > datetime.now(UTC)
    assert read_subject(vault, "acme", alice, "error_diagnosis", "support:eve", ticket="T-1")
    assert pending_sessions(vault, "acme") == []
    outcomes = [e["outcome"] for e in audit_entries(vault, "acme", action="support.open")]
    assert outcomes == ["ok", "deny"]  # newest first
    assert audit_entries(vault, "acme", action="support.request")[0]["actor"] == "support:eve"
    with pytest.raises(NotFound):  # answered: no longer a request
        approve_session(vault, "acme", asked.session_id, approved_by="tenant-admin:hr", hours=1)


def test_denied_stale_and_other_tenants_requests(vault) -> None:  # type: ignore[no-untyped-def]
    make_tenant(vault)
    make_tenant(vault, "globex")
    make_user(vault)
    bob = make_user(vault, "globex", email="bob@globex.dk")
    asked = request_session(vault, "acme", ticket="T-2", engineer="eve", subjects=["alice@acme.dk"])
    theirs = request_session(vault, "globex", ticket="G-1", engineer="eve", subjects=[bob])
    with pytest.raises(NotFound):
        deny_session(vault, "acme", theirs.session_id, actor="tenant-admin:hr", reason="no")
    with pytest.raises(InvalidInput):
        deny_session(vault, "acme", asked.session_id, actor="tenant-admin:hr", reason=" ")
    for personal in ("call her back on +45 22 33 44 55", "ask alice@acme.dk", "ring 22334455"):
        with pytest.raises(InvalidInput, match=r"^reason: must not hold an e-mail") as refused:
            deny_session(vault, "acme", asked.session_id, actor="tenant-admin:hr", reason=personal)
        assert personal not in str(refused.value)
    assert [s.session_id for s in pending_sessions(vault, "acme")] == [asked.session_id]
    assert audit_entries(vault, "acme", action="support.deny") == []
    denied = deny_session(vault, "acme", asked.session_id, actor="tenant-admin:hr", reason="no")
    assert denied.closed_at is not None and pending_sessions(vault, "acme") == []
    with pytest.raises(NotFound):
        approve_session(vault, "acme", asked.session_id, approved_by="tenant-admin:hr", hours=1)
    later = datetime.now(UTC) + timedelta(days=8)
    assert pending_sessions(vault, "globex", at=later) == []  # stale: the engineer asks again
    with pytest.raises(InvalidInput):
        approve_session(vault, "globex", theirs.session_id, approved_by="tenant-admin:x", hours=0)


def test_approval_needs_the_agreement_in_force(vault) -> None:  # type: ignore[no-untyped-def]
    make_tenant(vault, "old", agreement=("SSA-0", "2020-01-01", "2021-01-01"))
    make_user(vault, "old", email="bob@old.dk")
    asked = request_session(vault, "old", ticket="T", engineer="eve", subjects=["bob@old.dk"])
    with pytest.raises(PolicyRefusal, match="agreement"):
        approve_session(vault, "old", asked.session_id, approved_by="tenant-admin:hr", hours=1)


def test_the_api_routes(vault) -> None:  # type: ignore[no-untyped-def]
    make_tenant(vault)
    make_user(vault)
    engineer, _ = create_token(vault, "acme", "support_engineer", name="eve")
    admin, _ = create_token(vault, "acme", "tenant_admin", name="hr")
    client = TestClient(create_app(vault))
    path = "/api/v1/tenants/acme/support-sessions"
    body = {"ticket": "T-3", "subjects": ["alice@acme.dk"]}
    refused = client.post(
        f"{path}/requests", json=body, headers={"Authorization": f"Bearer {admin}"}
    )
    assert refused.status_code == 403
    asked = client.post(f"{path}/requests", json=body,
                        headers={"Authorization": f"Bearer {engineer}"})  # fmt: skip
    assert asked.status_code == 201 and asked.json()["engineer"] == "eve"
    sid = asked.json()["session"]
    as_engineer = client.post(f"{path}/{sid}/approve", json={"hours": 1},
                              headers={"Authorization": f"Bearer {engineer}"})  # fmt: skip
    assert as_engineer.status_code == 403
    ok = client.post(f"{path}/{sid}/approve", json={"hours": 1},
                     headers={"Authorization": f"Bearer {admin}"})  # fmt: skip
    assert ok.status_code == 200 and ok.json()["approved_by"] == "tenant-admin:hr"
    again = client.post(f"{path}/{sid}/deny", json={"reason": "late"},
                        headers={"Authorization": f"Bearer {admin}"})  # fmt: skip
    assert again.status_code == 404
