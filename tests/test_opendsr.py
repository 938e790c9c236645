"""OpenDSR over HTTP: discovery, receiving, status and cancelling a request as the tenant (a tenant
admin token), each route's refusals, and a request from creation to ``completed`` with a signed
status callback received and verified by a controller's server on 127.0.0.1."""

from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi.testclient import TestClient

from apihelp import World, assert_problem, make_world
from callvault import audit_entries, complete_request, revoke_token, start_request
from callvault.api import create_app


@pytest.fixture
def world(vault) -> World:  # type: ignore[no-untyped-def]
    return make_world(vault)


def body(**changes: Any) -> dict[str, Any]:
    document = {
        "regulation": "gdpr",
        "subject_request_id": str(uuid.uuid4()),
        "subject_request_type": "erasure",
        "submitted_time": datetime.now(UTC).isoformat(),
        "subject_identities": [
            {"identity_type": "email", "identity_value": "alice@acme.dk", "identity_format": "raw"}
        ],
        "api_version": "2.0",
    }
    document.update(changes)
    return document


def verify(world: World, response: Any) -> None:
    """The answer's X-OpenDSR-Signature holds for its raw body under discovery's key."""
    key = discovered_key(world)
    signature = base64.b64decode(response.headers["X-OpenDSR-Signature"])
    key.verify(signature, response.content, ec.ECDSA(hashes.SHA256()))


def discovered_key(world: World) -> ec.EllipticCurvePublicKey:
    pem = world.call("GET", "/opendsr/v1/discovery", "admin").json()["processor_public_key"]
    key = serialization.load_pem_public_key(pem.encode())
    assert isinstance(key, ec.EllipticCurvePublicKey)
    return key


def test_discovery_names_phone_numbers_and_the_verifying_key(world: World) -> None:
    response = world.call("GET", "/opendsr/v1/discovery", "admin")
    assert response.status_code == 200
    document = response.json()
    kinds = {item["identity_type"] for item in document["supported_identities"]}
    assert kinds == {"email", "phone_number", "controller_customer_id"}
    assert set(document["supported_subject_request_types"]) == {"access", "portability", "erasure"}
    assert document["processor_public_key"].startswith("-----BEGIN PUBLIC KEY-----")
    verify(world, response)


def test_create_get_and_cancel_map_onto_the_request_record(world: World) -> None:
    sent = body(subject_identities=[{"identity_type": "phone_number", "identity_format": "raw",
                                     "identity_value": "+4522334466"}])  # fmt: skip
    created = world.call("POST", "/opendsr/v1/requests", "admin", json=sent)
    assert created.status_code == 201, created.text
    verify(world, created)
    answer = created.json()
    rid = sent["subject_request_id"]
    assert answer["subject_request_id"] == rid and answer["controller_id"] == "acme"
    assert json.loads(base64.b64decode(answer["encoded_request"])) == sent
    status = world.call("GET", f"/opendsr/v1/requests/{rid}", "admin")
    assert status.status_code == 200
    assert status.json()["request_status"] == "pending"
    verify(world, status)
    rows = [e for e in audit_entries(world.vault, "acme") if e["action"] == "request.receive"]
    assert rows[-1]["actor"] == "tenant-admin:hr" and rows[-1]["subject_id"] == world.carol
    assert "+4522334466" not in json.dumps(rows[-1], default=str)
    cancelled = world.call("DELETE", f"/opendsr/v1/requests/{rid}", "admin")
    assert cancelled.status_code == 202
    verify(world, cancelled)
    again = world.call("GET", f"/opendsr/v1/requests/{rid}", "admin").json()
    assert again["request_status"] == "cancelled"
    assert_problem(world.call("DELETE", f"/opendsr/v1/requests/{rid}", "admin"), 422)


def test_bad_requests_are_problems_naming_the_field(world: World) -> None:
    url = "/opendsr/v1/requests"
    first = body()
    assert world.call("POST", url, "admin", json=first).status_code == 201
    assert_problem(world.call("POST", url, "admin", json=first), 422)  # the same id twice
    wrong = body(subject_identities=[{"identity_type": "phone_number", "identity_format": "raw",
                                      "identity_value": "alice@acme.dk"}])  # fmt: skip
    problem = assert_problem(world.call("POST", url, "admin", json=wrong), 422)
    assert "alice@acme.dk" not in json.dumps(problem)
    unknown = body(subject_identities=[{"identity_type": "email", "identity_format": "raw",
                                        "identity_value": "bob@globex.dk"}])  # fmt: skip
    assert_problem(world.call("POST", url, "admin", json=unknown), 404)  # globex's subject
    assert_problem(world.call("POST", url, "admin", json=body(subject_request_type="x")), 422)
    v1 = body(subject_request_id=str(uuid.uuid1()))
    assert_problem(world.call("POST", url, "admin", json=v1), 422)


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/opendsr/v1/discovery"), ("POST", "/opendsr/v1/requests"),
     ("GET", "/opendsr/v1/requests/{rid}"), ("DELETE", "/opendsr/v1/requests/{rid}")],
)  # fmt: skip
def test_each_route_refuses_no_token_revoked_token_wrong_role_and_other_tenant(
    world: World, method: str, path: str
) -> None:
    sent = body()
    assert world.call("POST", "/opendsr/v1/requests", "admin", json=sent).status_code == 201
    url = path.format(rid=sent["subject_request_id"])
    payload = {"json": body()} if method == "POST" else {}
    assert_problem(world.call(method, url, **payload), 401)
    for role in ("service", "support", "alice", "operator"):
        assert_problem(world.call(method, url, role, **payload), 403)
    denied = [e for e in audit_entries(world.vault, "acme") if e["action"] == "opendsr"]
    assert denied and all(e["outcome"] == "denied" for e in denied)
    if "{rid}" in path:  # globex's admin learns nothing of acme's request
        assert_problem(world.call(method, url, "globex"), 404)
    revoke_token(world.vault, world.token_ids["admin"])
    assert_problem(world.call(method, url, "admin", **payload), 401)


class Controller:
    """The controller's callback endpoint on 127.0.0.1: keeps what it receives; answers 503 to the
    first ``fail_first`` calls so retries are exercised."""

    def __init__(self, fail_first: int = 0) -> None:
        self.received: list[tuple[Any, bytes]] = []
        self.fail_first = fail_first
        self.done = threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                data = self.rfile.read(int(self.headers["Content-Length"]))
                if outer.fail_first > 0:
                    outer.fail_first -= 1
                    self.send_response(503)
                else:
                    outer.received.append((self.headers, data))
                    outer.done.set()
                    self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/opendsr/callbacks"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Controller:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def controller() -> Iterator[Controller]:
    with Controller(fail_first=1) as server:
        yield server


def test_request_to_completed_with_a_signed_callback(world: World, controller: Controller) -> None:
    sent = body(status_callback_urls=[controller.url])
    rid = sent["subject_request_id"]
    assert world.call("POST", "/opendsr/v1/requests", "admin", json=sent).status_code == 201
    notifier = world.client.app.state.notifier  # type: ignore[attr-defined]
    notifier.backoff = 0.05
    start_request(world.vault, "acme", rid)
    complete_request(world.vault, "acme", rid, "erased", evidence={"calls": 1})
    assert notifier.poll() == 1
    statuses = []
    key = discovered_key(world)
    for headers, raw in controller.received:
        signature = base64.b64decode(headers["X-OpenDSR-Signature"])
        key.verify(signature, raw, ec.ECDSA(hashes.SHA256()))  # before parsing (OpenDSR 8.8)
        document = json.loads(raw)
        assert document["status_callback_url"] == controller.url
        assert document["subject_request_id"] == rid and document["controller_id"] == "acme"
        assert headers["X-OpenDSR-Processor-Domain"] == "localhost"
        statuses.append(document["request_status"])
    assert statuses == ["completed"]
    with pytest.raises(InvalidSignature):
        key.verify(signature, raw.replace(b"completed", b"cancelled"), ec.ECDSA(hashes.SHA256()))
    attempts = [e for e in audit_entries(world.vault, "acme") if e["action"] == "request.callback"]
    attempts.reverse()  # the audit log lists the newest first
    assert [(e["outcome"], e["details"]["attempt"]) for e in attempts] == [("error", 1), ("ok", 2)]
    assert controller.url not in json.dumps(attempts, default=str)
    assert notifier.poll() == 0  # nothing changed since: nothing is sent twice
    status = world.call("GET", f"/opendsr/v1/requests/{rid}", "admin").json()
    assert status["request_status"] == "completed"


def test_an_unreachable_controller_is_retried_a_bounded_number_of_times(world: World) -> None:
    with Controller(fail_first=100) as down:
        sent = body(status_callback_urls=[down.url])
        assert world.call("POST", "/opendsr/v1/requests", "admin", json=sent).status_code == 201
        notifier = world.client.app.state.notifier  # type: ignore[attr-defined]
        notifier.backoff, notifier.attempts = 0.01, 3
        world.call("DELETE", f"/opendsr/v1/requests/{sent['subject_request_id']}", "admin")
        assert notifier.poll() == 1
    attempts = [e for e in audit_entries(world.vault, "acme") if e["action"] == "request.callback"]
    attempts.reverse()  # the audit log lists the newest first
    assert [e["outcome"] for e in attempts] == ["error"] * 3
    assert all(e["details"]["result"] == "503" for e in attempts)


def test_the_server_sends_callbacks_while_it_serves(vault, controller: Controller) -> None:  # type: ignore[no-untyped-def]
    world = make_world(vault)
    app = create_app(vault, notify_every=0.1, domain="processor.example")
    with TestClient(app) as client:  # the lifespan starts the notifier's thread
        world.client = client
        sent = body(status_callback_urls=[controller.url])
        assert world.call("POST", "/opendsr/v1/requests", "admin", json=sent).status_code == 201
        app.state.notifier.backoff = 0.05
        assert world.call("DELETE", f"/opendsr/v1/requests/{sent['subject_request_id']}",
                          "admin").status_code == 202  # fmt: skip
        assert controller.done.wait(timeout=20)
        deadline = time.monotonic() + 20
        while b'"cancelled"' not in controller.received[-1][1] and time.monotonic() < deadline:
            time.sleep(0.05)
    # Receipt (pending) when the thread looked in between, then the cancellation; each signed.
    statuses = []
    for headers, raw in controller.received:
        assert headers["X-OpenDSR-Processor-Domain"] == "processor.example"
        signature = base64.b64decode(headers["X-OpenDSR-Signature"])
        discovered_key(world).verify(signature, raw, ec.ECDSA(hashes.SHA256()))
        statuses.append(json.loads(raw)["request_status"])
    assert statuses in (["cancelled"], ["pending", "cancelled"])
