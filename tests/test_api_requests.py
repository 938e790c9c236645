"""Requests over the API: the tenant's list, the identity check recorded by the token's party, and an
operator admin (``operator:<name>``) carrying out verified access and erasure requests, with the
refusals (unverified, wrong role, other tenant), on SQLite and PostgreSQL."""

from __future__ import annotations

import io
import json
import uuid
import zipfile
from datetime import UTC, datetime

import pytest

from apihelp import World, assert_problem, make_world
from callvault import (
    Verification,
    audit_entries,
    cancel_request,
    create_request,
    get_request,
    verify_request,
)

A = "/api/v1/tenants/acme/requests"


@pytest.fixture
def world(vault) -> World:  # type: ignore[no-untyped-def]
    return make_world(vault)


def _opendsr(world: World, kind: str, email: str = "alice@acme.dk") -> str:
    """A request the controller sends (verified by it, OpenDSR 3.2)."""
    rid = str(uuid.uuid4())
    sent = {"regulation": "gdpr", "subject_request_id": rid, "subject_request_type": kind,
            "submitted_time": datetime.now(UTC).isoformat(),
            "subject_identities": [{"identity_type": "email", "identity_value": email,
                                    "identity_format": "raw"}]}  # fmt: skip
    assert world.call("POST", "/opendsr/v1/requests", "admin", json=sent).status_code == 201
    return rid


def test_operator_admin_carries_out_a_verified_access_request(world: World) -> None:
    rid = _opendsr(world, "access")
    listed = world.call("GET", A, "operator").json()
    assert [r["request_id"] for r in listed] == [rid] and listed[0]["state"] == "pending"
    assert world.call("GET", A, "admin").json() == listed
    export = world.call("POST", f"{A}/{rid}/access", "operator")
    assert export.status_code == 200, export.text
    assert export.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(export.content)) as zf:
        document = json.loads(zf.read("subject.json"))
    assert document["subject"] == world.alice and document["request"] == rid
    assert len(document["calls"]) == 1
    entry = audit_entries(world.vault, "acme", limit=1, action="subject.access")[0]
    assert entry["actor"] == "operator:ops" and entry["outcome"] == "allow"
    done = world.call("GET", f"{A}/{rid}", "admin").json()
    assert done["state"] == "completed" and done["evidence"]["exported"]["calls"] == 1
    assert_problem(world.call("POST", f"{A}/{rid}/access", "operator"), 422)  # answered once


def test_an_unverified_request_is_refused_until_a_party_records_its_check(world: World) -> None:
    made = create_request(world.vault, "acme", world.carol, "access", actor="tenant-admin:hr",
                          channel="api")  # fmt: skip
    rid = made.request_id
    refused = assert_problem(world.call("POST", f"{A}/{rid}/access", "operator"), 403)
    assert "not verified" in refused["detail"]
    entry = audit_entries(world.vault, "acme", limit=1, action="subject.access")[0]
    assert (entry["actor"], entry["outcome"]) == ("operator:ops", "deny")
    # the operator admin receives the export: it may not vouch for the requester itself
    assert_problem(world.call("POST", f"{A}/{rid}/verify", "operator"), 403)
    assert get_request(world.vault, "acme", rid).verification is None
    checked = world.call("POST", f"{A}/{rid}/verify", "admin")
    assert checked.status_code == 200, checked.text
    assert world.call("POST", f"{A}/{rid}/access", "operator").status_code == 200
    assert get_request(world.vault, "acme", rid).state == "completed"


def test_tenant_admin_records_the_controllers_check(world: World) -> None:
    rid = create_request(world.vault, "acme", world.carol, "erasure", actor="tenant-admin:hr",
                         channel="api").request_id  # fmt: skip
    checked = world.call("POST", f"{A}/{rid}/verify", "admin").json()
    assert (checked["verification_method"], checked["verified_by"]) == (
        "controller", "tenant-admin:hr")  # fmt: skip


def test_operator_admin_erases_on_a_verified_erasure_request(world: World) -> None:
    rid = _opendsr(world, "erasure", "carol@acme.dk")
    assert_problem(world.call("POST", f"{A}/{rid}/access", "operator"), 422)  # not an access
    erased = world.call("POST", f"{A}/{rid}/erase", "operator")
    assert erased.status_code == 200, erased.text
    assert erased.json()["subject"] == world.carol and erased.json()["request"] == rid
    assert get_request(world.vault, "acme", rid).state == "completed"
    entry = audit_entries(world.vault, "acme", limit=1, action="request.state")[0]
    assert entry["actor"] == "operator:ops" and entry["details"]["to"] == "completed"
    assert "carol@acme.dk" not in json.dumps(audit_entries(world.vault, "acme"), default=str)


def test_refusals_wrong_role_other_tenant_no_token(world: World) -> None:
    rid = _opendsr(world, "access")
    for who in ("admin", "service", "support", "alice"):  # only the operator carries it out
        assert_problem(world.call("POST", f"{A}/{rid}/access", who), 403)
        assert_problem(world.call("POST", f"{A}/{rid}/erase", who), 403)
    for who in ("service", "support", "alice"):
        assert_problem(world.call("GET", A, who), 403)
        assert_problem(world.call("POST", f"{A}/{rid}/verify", who), 403)
    for method, path in (("GET", A), ("GET", f"{A}/{rid}"), ("POST", f"{A}/{rid}/access")):
        assert_problem(world.call(method, path, "globex"), 404)
        assert_problem(world.call(method, path), 401)
    # globex's own path does not hold acme's request either
    assert_problem(world.call("GET", f"/api/v1/tenants/globex/requests/{rid}", "globex"), 404)
    assert get_request(world.vault, "acme", rid).state == "pending"


def test_a_cancelled_request_is_not_carried_out(world: World) -> None:
    rid = _opendsr(world, "erasure", "carol@acme.dk")
    cancel_request(world.vault, "acme", rid, actor="tenant-admin:hr")
    refused = assert_problem(world.call("POST", f"{A}/{rid}/erase", "operator"), 422)
    assert "cancelled" in refused["detail"]
    assert world.vault.keyring.keystore.tombstones("acme") == {}
    assert get_request(world.vault, "acme", rid).state == "cancelled"


@pytest.mark.parametrize("action", ["access", "erasure"])
def test_an_operator_that_vouched_itself_neither_receives_nor_erases(world: World, action) -> None:
    """A check recorded by the very operator admin that carries the request out (through the
    library, the API no longer lets it) is refused: 403, audited, nothing exported or erased."""
    rid = create_request(world.vault, "acme", world.carol, action, actor="tenant-admin:hr",
                         channel="api").request_id  # fmt: skip
    verify_request(world.vault, "acme", rid, Verification("operator", "operator:ops"),
                   actor="operator:ops")  # fmt: skip
    path, audited = (
        ("access", "subject.access") if action == "access" else ("erase", "subject.erase")
    )
    refused = assert_problem(world.call("POST", f"{A}/{rid}/{path}", "operator"), 403)
    assert "vouched for by the operator who carries out the request" in refused["detail"]
    entry = audit_entries(world.vault, "acme", limit=1, action=audited)[0]
    assert (entry["actor"], entry["outcome"]) == ("operator:ops", "deny")
    assert entry["details"]["rule"] == "identity.self_vouched"
    assert world.vault.keyring.keystore.tombstones("acme") == {}
    assert get_request(world.vault, "acme", rid).state == "pending"
