"""The HTTP API: each route's success and refusals (no token, revoked token, wrong role, other
tenant, other subject), with the actor taken from the token, on SQLite and PostgreSQL."""

from __future__ import annotations

import io
import json
import tarfile
import time
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from apihelp import AUDIO, World, assert_problem, make_world
from callvault import Vault, audit_entries, revoke_token
from callvault.api import create_app
from callvault.store import connect
from callvault.store.schema.core import audit_log
from spool import write_message

A = "/api/v1/tenants/acme"


@pytest.fixture
def world(vault) -> World:  # type: ignore[no-untyped-def]
    return make_world(vault)


def _last(world: World, tenant: str, action: str) -> dict:  # type: ignore[type-arg]
    return audit_entries(world.vault, tenant, limit=1, action=action)[0]


def test_no_token_and_bad_token_are_401(world: World) -> None:
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic x"}):
        response = world.call("GET", A, headers=headers)
        assert_problem(response, 401)
        assert response.headers["www-authenticate"] == "Bearer"


def test_revoked_token_is_401(world: World) -> None:
    assert world.call("GET", A, "admin").status_code == 200
    revoke_token(world.vault, world.token_ids["admin"])
    assert_problem(world.call("GET", A, "admin"), 401)


def test_tenant_show_for_admins_only(world: World) -> None:
    shown = world.call("GET", A, "admin").json()
    assert shown["id"] == "acme" or shown.get("tenant") == "acme"
    assert world.call("GET", A, "operator").status_code == 200
    body = assert_problem(world.call("GET", A, "service"), 403)
    assert "service" in body["detail"]
    refused = _last(world, "acme", "tenant.show")
    assert refused["actor"] == "service:app" and refused["outcome"] == "denied"


def test_other_tenant_is_indistinguishable_from_unknown(world: World) -> None:
    other = assert_problem(world.call("GET", "/api/v1/tenants/globex", "admin"), 404)
    unknown = assert_problem(world.call("GET", "/api/v1/tenants/nosuch", "admin"), 404)
    assert other["detail"].replace("globex", "X") == unknown["detail"].replace("nosuch", "X")
    # a subject of tenant B through tenant B's path and through A's: the same "no such subject"
    bob_b = world.call("GET", f"/api/v1/tenants/globex/subjects/{world.bob}/data", "service",
                       params={"purpose": "personalisation"})  # fmt: skip
    assert_problem(bob_b, 404)
    bob_a = world.call("GET", f"{A}/subjects/{world.bob}/data", "service",
                       params={"purpose": "personalisation"})  # fmt: skip
    nobody = world.call("GET", f"{A}/subjects/{'0' * 32}/data", "service",
                        params={"purpose": "personalisation"})  # fmt: skip
    assert assert_problem(bob_a, 404) == assert_problem(nobody, 404)


def test_other_tenant_and_subject_404s_are_audited_without_values(world: World) -> None:
    """Each 404 a token gets is in its own tenant's chain, by route template: which tenant or
    subject it asked for is never written (the answer said nothing of it either)."""
    assert_problem(world.call("GET", "/api/v1/tenants/globex", "admin"), 404)
    assert_problem(world.call("GET", f"{A}/subjects/{world.bob}/data", "service",
                              params={"purpose": "personalisation"}), 404)  # fmt: skip
    assert_problem(world.call("GET", f"{A}/subjects/{world.carol}/consents", "alice"), 404)
    entries = audit_entries(world.vault, "acme", limit=3, action="not_found")
    entries.reverse()  # the audit log lists the newest first
    assert [(e["actor"], e["outcome"], e["details"]["route"]) for e in entries] == [
        ("tenant-admin:hr", "not_found", "GET /api/v1/tenants/{tenant}"),
        ("service:app", "not_found", "GET /api/v1/tenants/{tenant}/subjects/{subject}/data"),
        (f"subject:{world.alice}", "not_found",
         "GET /api/v1/tenants/{tenant}/subjects/{subject}/consents"),
    ]  # fmt: skip
    written = json.dumps(entries, default=str)
    assert "globex" not in written and world.bob not in written and world.carol not in written
    assert audit_entries(world.vault, "globex", action="not_found") == []


def test_read_is_purpose_bound_and_audited_as_the_token(world: World) -> None:
    path = f"{A}/subjects/{world.alice}/data"
    refused = world.call("GET", path, "service", params={"purpose": "personalisation"})
    assert assert_problem(refused, 403)["detail"].startswith("no consent")
    given = world.call("POST", f"{A}/subjects/{world.alice}/consents/personalisation/give", "alice")
    assert given.status_code == 200 and given.json()["state"] == "given"
    data = world.call("GET", path, "service", params={"purpose": "personalisation"})
    assert data.status_code == 200 and len(data.json()["calls"]) == 1
    assert _last(world, "acme", "read")["actor"] == "service:app"
    # a purpose the service token was not given: refused before the gate, audited
    other = world.call("GET", path, "service", params={"purpose": "error_diagnosis"})
    assert_problem(other, 403)
    # the admin is not a reader; another tenant's service is "no such tenant"
    assert_problem(world.call("GET", path, "admin", params={"purpose": "personalisation"}), 403)
    assert_problem(
        world.call("GET", path, "globex-service", params={"purpose": "personalisation"}), 404
    )


def test_identifier_in_path_is_refused_without_echo(world: World) -> None:
    response = world.call("GET", f"{A}/subjects/alice@acme.dk/data", "service",
                          params={"purpose": "personalisation"})  # fmt: skip
    body = assert_problem(response, 422)
    assert "alice" not in body["detail"]


def test_subject_token_reaches_itself_only(world: World) -> None:
    mine = world.call("GET", f"{A}/subjects/{world.alice}/consents", "alice")
    assert mine.status_code == 200 and mine.json()["subject_id"] == world.alice
    theirs = world.call("GET", f"{A}/subjects/{world.carol}/consents", "alice")
    assert_problem(theirs, 404)
    assert _last(world, "acme", "consent.show")["actor"] == f"subject:{world.alice}"


def test_consent_is_given_only_by_the_subject(world: World) -> None:
    path = f"{A}/subjects/{world.alice}/consents/personalisation"
    assert_problem(world.call("POST", f"{path}/give", "admin"), 403)
    assert world.call("POST", f"{path}/give", "alice").status_code == 200
    withdrawn = world.call("POST", f"{path}/withdraw", "admin")
    assert withdrawn.status_code == 200 and withdrawn.json()["state"] == "withdrawn"
    assert _last(world, "acme", "consent.withdraw")["actor"] == "tenant-admin:hr"
    assert_problem(world.call("POST", f"{path}/refuse", "service"), 403)
    record = withdrawn.json()["record_id"]
    receipt = world.call("GET", f"{A}/consent-receipts/{record}", "admin")
    assert receipt.status_code == 200
    assert_problem(world.call("POST", f"{path}/nonsense", "alice"), 422)


def test_voicemail_audio_through_the_gate(world: World) -> None:
    path = f"{A}/subjects/{world.alice}/voicemail/{world.voicemail}"
    assert_problem(world.call("GET", path, "service", params={"purpose": "personalisation"}), 403)
    world.call("POST", f"{A}/subjects/{world.alice}/consents/personalisation/give", "alice")
    audio = world.call("GET", path, "service", params={"purpose": "personalisation"})
    assert audio.status_code == 200 and audio.content == AUDIO
    carol_path = f"{A}/subjects/{world.carol}/voicemail/{world.voicemail}"
    assert_problem(world.call("GET", carol_path, "carol", params={"purpose": "personalisation"}),
                   404)  # fmt: skip


def test_disclosure_recipient_follows_the_token(world: World) -> None:
    path = f"{A}/subjects/{world.alice}/disclosure"
    mine = world.call("POST", path, "alice")
    assert mine.status_code == 200 and mine.json()["recipient"] == "subject"
    controller = world.call("POST", path, "admin")
    assert controller.json()["recipient"] == "controller"
    assert_problem(world.call("POST", path, "service"), 403)
    assert_problem(world.call("POST", f"{A}/subjects/{world.alice}/disclosure", "carol"), 404)


def test_restriction_and_objection(world: World) -> None:
    base = f"{A}/subjects/{world.alice}"
    restricted = world.call("POST", f"{base}/restriction", "alice", json={})
    assert restricted.json() == {"subject": world.alice, "changed": True, "state": "restricted"}
    assert _last(world, "acme", "restriction.add")["actor"] == f"subject:{world.alice}"
    # restricted: the controller's export is refused (Art. 18(2))
    assert_problem(world.call("POST", f"{base}/disclosure", "admin"), 403)
    lifted = world.call("POST", f"{base}/restriction", "admin", json={"lift": True})
    assert lifted.json()["changed"] is True
    objected = world.call("POST", f"{base}/objections/customer_service", "alice", json={})
    assert objected.status_code == 200 and objected.json()["changed"] is True
    assert_problem(world.call("POST", f"{base}/restriction", "service", json={}), 403)
    assert_problem(world.call("POST", f"{base}/restriction", "alice", json={"lift": "x"}), 422)


def test_support_session_needs_the_tenant_admin(world: World) -> None:
    body = {"ticket": "INC-7", "engineer": "eng-joe", "hours": 2, "subjects": [world.alice]}
    assert_problem(world.call("POST", f"{A}/support-sessions", "support", json=body), 403)
    opened = world.call("POST", f"{A}/support-sessions", "admin", json=body)
    assert opened.status_code == 201, opened.text
    session = opened.json()
    assert session["approved_by"] == "tenant-admin:hr"
    read = world.call("GET", f"{A}/subjects/{world.alice}/data", "support",
                      params={"purpose": "error_diagnosis", "ticket": "INC-7"})  # fmt: skip
    assert read.status_code == 200, read.text
    assert _last(world, "acme", "read")["actor"] == "support:eng-joe"
    other = world.call("GET", f"{A}/subjects/{world.carol}/data", "support",
                       params={"purpose": "error_diagnosis", "ticket": "INC-7"})  # fmt: skip
    assert_problem(other, 403)
    closed = world.call("POST", f"{A}/support-sessions/{session['session']}/close", "admin")
    assert closed.json()["closed_at"] is not None
    assert_problem(world.call("POST", f"{A}/support-sessions", "globex", json=body), 404)


def test_statistics_retention_records_notice(world: World) -> None:
    stats = world.call("GET", f"{A}/statistics", "admin", params={"by": "day"})
    assert stats.status_code == 200 and "suppressed_cells" in stats.json()
    by_service = world.call("GET", f"{A}/statistics", "stats",
                            params={"purpose": "customer_service"})  # fmt: skip
    assert by_service.status_code == 200
    assert_problem(world.call("GET", f"{A}/statistics", "service"), 403)
    assert_problem(world.call("GET", f"{A}/statistics", "admin", params={"from": "nope"}), 422)
    retention = world.call("GET", f"{A}/retention", "admin").json()
    assert retention["tenants"][0]["tenant"] == "acme"
    assert world.call("GET", f"{A}/records", "admin").status_code == 200
    notice = world.call("GET", f"{A}/notice", "alice")
    assert notice.status_code == 200 and notice.headers["content-type"].startswith("text/markdown")
    assert_problem(world.call("GET", f"{A}/retention", "alice"), 403)


def test_audit_verify_and_checkpoint(world: World) -> None:
    assert world.call("GET", f"{A}/audit/verify", "admin").json()["ok"] is True
    assert world.call("GET", "/api/v1/audit/verify", "operator").json()["ok"] is True
    assert_problem(world.call("GET", "/api/v1/audit/verify", "admin"), 403)
    checkpoint = world.call("POST", "/api/v1/audit/checkpoint", "operator")
    assert checkpoint.status_code == 200 and checkpoint.json()["signature"]
    assert_problem(world.call("POST", "/api/v1/audit/checkpoint", "admin"), 403)
    assert world.call("GET", "/api/v1/records", "operator").status_code == 200
    assert world.call("GET", "/api/v1/retention", "operator").status_code == 200
    assert world.call("GET", "/api/v1/whoami", "service").json()["actor"] == "service:app"


def test_ingest_upload_and_limits(vault) -> None:  # type: ignore[no-untyped-def]
    world = make_world(vault, upload_limit=4096)
    users = b"external_id,name,email,phone,extension\nu-1,Dan D,dan@acme.dk,+4522110000,210\n"
    stored = world.call("POST", f"{A}/ingest/subjects", "admin", params={"format": "csv"},
                        content=users)  # fmt: skip
    assert stored.status_code == 200, stored.text
    assert stored.json()["stored"] == 1
    start = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    calls = (
        json.dumps(
            {
                "id": "c1",
                "start": start,
                "duration": 30,
                "caller": "+4522110000",
                "callee": "+4540404040",
                "outcome": "answered",
            }
        ).encode()
        + b"\n"
    )
    ok = world.call("POST", f"{A}/ingest/calls", "service", params={"format": "jsonl"},
                    content=calls)  # fmt: skip
    assert ok.status_code == 200, ok.text
    too_big = world.call("POST", f"{A}/ingest/calls", "admin", params={"format": "jsonl"},
                         content=calls * 100)  # fmt: skip
    assert_problem(too_big, 413)
    bad = world.call("POST", f"{A}/ingest/calls", "admin", params={"format": "jsonl"},
                     content=b"not json\n")  # fmt: skip
    assert "not json" not in assert_problem(bad, 422)["detail"]
    assert_problem(world.call("POST", f"{A}/ingest/calls", "alice", params={"format": "jsonl"},
                              content=calls), 403)  # fmt: skip


def test_json_body_limit_and_unknown_route(world: World) -> None:
    base = f"{A}/subjects/{world.alice}"
    huge = world.call("POST", f"{base}/restriction", "alice", content=b"{" + b" " * 70_000 + b"}",
                      headers={"Content-Type": "application/json"})  # fmt: skip
    assert_problem(huge, 413)
    assert_problem(world.call("GET", "/api/v1/nothing", "admin"), 404)
    assert_problem(world.call("DELETE", A, "admin"), 405)
    assert_problem(world.call("POST", f"{base}/restriction", "alice", content=b"{",
                              headers={"Content-Type": "application/json"}), 422)  # fmt: skip


def test_health_probes(world: World) -> None:
    assert world.client.get("/healthz").json() == {"status": "ok"}
    assert world.client.get("/readyz").json() == {"status": "ready"}


def test_tampered_audit_log_is_409(world: World) -> None:
    with world.vault.transaction() as conn:
        conn.execute(update(audit_log).where(audit_log.c.tenant_id == "acme", audit_log.c.seq == 1)
                     .values(action="forged"))  # fmt: skip
    body = assert_problem(world.call("GET", f"{A}/audit/verify", "admin"), 409)
    assert body["title"] == "Integrity check failed"


def test_unreachable_database_is_a_500_problem_without_its_text(world: World, tmp_path) -> None:  # type: ignore[no-untyped-def]
    broken = Vault(connect(f"sqlite:///{tmp_path}/missing/x.db"), world.vault.keyring,
                   world.vault.policy)  # fmt: skip
    client = TestClient(create_app(broken), raise_server_exceptions=False)
    body = assert_problem(client.get("/readyz"), 500)
    assert str(tmp_path) not in body["detail"]
    whoami = client.get("/api/v1/whoami", headers={"Authorization": "Bearer cv_x"})
    assert str(tmp_path) not in assert_problem(whoami, 500)["detail"]


def _routes(world: World) -> list[tuple[str, str, dict]]:  # type: ignore[type-arg]
    """Every /api/v1 operation of the OpenAPI document, with acme's ids filled in and a valid body."""
    bodies = {
        "/restriction": {},
        "/objections/{purpose}": {},
        "/support-sessions": {
            "ticket": "T-1",
            "engineer": "e",
            "hours": 1,
            "subjects": [world.alice],
        },
    }
    fill = {"{tenant}": "acme", "{subject}": world.alice, "{voicemail}": world.voicemail,
            "{purpose}": "personalisation", "{act}": "give", "{record}": "0" * 32,
            "{session}": "0" * 32, "{request_id}": "7c1f6b0e-0d4e-4a43-9a51-3f1f2b6c9d10"}  # fmt: skip
    routes = []
    for path, methods in world.client.get("/openapi.json").json()["paths"].items():
        if not path.startswith("/api/v1/"):
            continue
        body = next((b for end, b in bodies.items() if path.endswith(end)), None)
        for key, value in fill.items():
            path = path.replace(key, value)
        for method in methods:
            routes.append((method.upper(), path, {"json": body} if body is not None else {}))
    return routes


def test_every_route_refuses_no_token_and_answers_other_tenants_as_unknown(world: World) -> None:
    routes = _routes(world)
    assert len(routes) >= 23
    revoke_token(world.vault, world.token_ids["service"])
    for method, path, body in routes:
        assert_problem(world.call(method, path, **body), 401)
        assert_problem(world.call(method, path, "service", **body), 401)  # revoked
        if "/tenants/acme" in path:
            other = assert_problem(world.call(method, path, "globex", **body), 404)
            assert other["detail"] == "no tenant 'acme'", (method, path)


def _tar(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def test_voicemail_spool_upload(world: World, tmp_path) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "spool" / "default" / "202" / "INBOX"
    write_message(folder, mailbox="202", callerid="<+4550505051>",
                  origtime=int(time.time()) - 600, msg_id="9-9", audio=b"RIFF-up")  # fmt: skip
    files = {str(p.relative_to(tmp_path / "spool")): p.read_bytes()
             for p in (tmp_path / "spool").rglob("*") if p.is_file()}  # fmt: skip
    stored = world.call("POST", f"{A}/ingest/voicemail", "admin", content=_tar(files))
    assert stored.status_code == 200, stored.text
    assert stored.json()["stored"] == 1
    escaping = world.call("POST", f"{A}/ingest/voicemail", "admin",
                          content=_tar({"../../evil.txt": b"x"}))  # fmt: skip
    assert_problem(escaping, 422)
    assert_problem(world.call("POST", f"{A}/ingest/voicemail", "admin", content=b"not a tar"), 422)
    assert_problem(world.call("POST", f"{A}/ingest/voicemail", "alice", content=b""), 403)
