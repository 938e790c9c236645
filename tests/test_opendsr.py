"""OpenDSR over HTTP: public discovery and certificate, receiving, status and cancelling a request as
the tenant (a tenant admin token), each route's refusals, and a request from creation to
``completed`` with a signed status callback received and verified, against the X.509 certificate
fetched through discovery, by a controller's server on 127.0.0.1."""

from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from cryptography.x509.oid import NameOID
from fastapi.testclient import TestClient

from apihelp import World, assert_problem, make_world
from callvault import audit_entries, complete_request, revoke_token, start_request
from callvault.api import create_app
from clihelp import run_cli


@pytest.fixture(autouse=True)
def private_callbacks(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The tests' controller listens on 127.0.0.1, which callbacks refuse unless allowed."""
    monkeypatch.setenv("CALLVAULT_CALLBACK_PRIVATE", "allow")


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
    """The answer's X-OpenDSR-Signature holds for its raw body under the certificate of the
    domain it names, fetched through discovery."""
    certificate = discovered_certificate(world.client)
    check_certificate(certificate, response.headers["X-OpenDSR-Processor-Domain"])
    signature = base64.b64decode(response.headers["X-OpenDSR-Signature"])
    public_key(certificate).verify(signature, response.content, ec.ECDSA(hashes.SHA256()))


def discovered_certificate(client: Any) -> x509.Certificate:
    """Discovery (no token), then the certificate at its ``processor_certificate`` URL."""
    url = client.get("/opendsr/v1/discovery").json()["processor_certificate"]
    response = client.get(url)
    assert response.status_code == 200
    return x509.load_pem_x509_certificate(response.content)


def public_key(certificate: x509.Certificate) -> ec.EllipticCurvePublicKey:
    key = certificate.public_key()
    assert isinstance(key, ec.EllipticCurvePublicKey)
    return key


def check_certificate(certificate: x509.Certificate, domain: str) -> None:
    """What OpenDSR's security guidelines ask of the certificate: in force, the processor domain
    in its SAN, usable for digital signatures."""
    now = datetime.now(UTC)
    assert certificate.not_valid_before_utc <= now < certificate.not_valid_after_utc
    san = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert domain in san.get_values_for_type(x509.DNSName)
    assert certificate.extensions.get_extension_for_class(x509.KeyUsage).value.digital_signature


def test_discovery_is_public_and_names_the_certificate(world: World) -> None:
    response = world.call("GET", "/opendsr/v1/discovery")  # no token: OpenDSR 6
    assert response.status_code == 200
    document = response.json()
    kinds = {item["identity_type"] for item in document["supported_identities"]}
    assert kinds == {"email", "phone_number", "controller_customer_id"}
    assert set(document["supported_subject_request_types"]) == {"access", "portability", "erasure"}
    assert document["processor_certificate"] == "https://localhost/opendsr/v1/certificate.pem"
    forged = world.client.get("/opendsr/v1/discovery", headers={"Host": "evil.example"})
    assert forged.json()["processor_certificate"] == document["processor_certificate"]
    assert forged.content == response.content  # the very document signed, whatever the Host
    # the same document whoever asks: nothing of any tenant in it
    for who in ("admin", "globex", "alice"):
        assert world.call("GET", "/opendsr/v1/discovery", who).json() == document
    assert "acme" not in response.text and "globex" not in response.text
    certificate = discovered_certificate(world.client)
    check_certificate(certificate, "localhost")
    spki = public_key(certificate).public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    assert document["processor_public_key"] == spki.decode()
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
    check_processor_signature(world, answer)
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
    check_processor_signature(world, cancelled.json())
    again = world.call("GET", f"/opendsr/v1/requests/{rid}", "admin").json()
    assert again["request_status"] == "cancelled"
    assert_problem(world.call("DELETE", f"/opendsr/v1/requests/{rid}", "admin"), 422)


def check_processor_signature(world: World, answer: dict[str, Any]) -> None:
    """``processor_signature`` signs the body without itself (OpenDSR 7.3, 9.2)."""
    rest = {key: value for key, value in answer.items() if key != "processor_signature"}
    signature = base64.b64decode(answer["processor_signature"])
    key = public_key(discovered_certificate(world.client))
    key.verify(signature, json.dumps(rest, sort_keys=True).encode(), ec.ECDSA(hashes.SHA256()))
    with pytest.raises(InvalidSignature):
        forged = {**rest, "expected_completion_time": "2099-01-01T00:00:00+00:00"}
        key.verify(signature, json.dumps(forged, sort_keys=True).encode(),
                   ec.ECDSA(hashes.SHA256()))  # fmt: skip


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
    [("POST", "/opendsr/v1/requests"), ("GET", "/opendsr/v1/requests/{rid}"),
     ("DELETE", "/opendsr/v1/requests/{rid}")],
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
    if "{rid}" in path:  # globex's admin learns nothing of acme's request; that is audited
        unknown = url.replace(sent["subject_request_id"], str(uuid.uuid4()))
        assert assert_problem(world.call(method, url, "globex"), 404) == assert_problem(
            world.call(method, unknown, "globex"), 404)  # fmt: skip
        refused = audit_entries(world.vault, "globex", limit=2)
        assert [e["outcome"] for e in refused] == ["not_found"] * 2
        assert all(e["actor"] == "tenant-admin:it" for e in refused)
        assert sent["subject_request_id"] not in json.dumps(refused, default=str)
    revoke_token(world.vault, world.token_ids["admin"])
    assert_problem(world.call(method, url, "admin", **payload), 401)


class Controller:
    """The controller's callback endpoint on 127.0.0.1, as OpenDSR 8.8 and its security guidelines
    describe it: the processor's domain must be the one it knows (401 otherwise), the signature
    must hold for the raw body under the certificate it fetched through discovery (400 otherwise,
    checked before the body is parsed); then it keeps the document and answers 202. It answers 503
    to the first ``fail_first`` calls so retries are exercised."""

    def __init__(self, fail_first: int = 0, domain: str = "localhost") -> None:
        self.received: list[tuple[Any, bytes]] = []
        self.verified: list[dict[str, Any]] = []
        self.refused: list[int] = []
        self.fail_first = fail_first
        self.domain = domain
        self.certificate: x509.Certificate | None = None
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
                    status = outer.check(self.headers, data)
                    self.send_response(status)
                    if status == 202:
                        outer.done.set()
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/opendsr/callbacks"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def trust(self, client: Any) -> Controller:
        """Fetch (and cache) the processor's certificate through its discovery (OpenDSR 8.8)."""
        self.certificate = discovered_certificate(client)
        check_certificate(self.certificate, self.domain)
        return self

    def check(self, headers: Any, raw: bytes) -> int:
        if headers["X-OpenDSR-Processor-Domain"] != self.domain or self.certificate is None:
            self.refused.append(401)
            return 401
        try:
            signature = base64.b64decode(headers["X-OpenDSR-Signature"])
            public_key(self.certificate).verify(signature, raw, ec.ECDSA(hashes.SHA256()))
        except (InvalidSignature, ValueError, TypeError):
            self.refused.append(400)
            return 400
        document = json.loads(raw)  # only now, after the signature held
        if document["status_callback_url"] != self.url:
            self.refused.append(400)
            return 400
        self.verified.append(document)
        return 202

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
    controller.trust(world.client)
    sent = body(status_callback_urls=[controller.url])
    rid = sent["subject_request_id"]
    assert world.call("POST", "/opendsr/v1/requests", "admin", json=sent).status_code == 201
    notifier = world.client.app.state.notifier  # type: ignore[attr-defined]
    notifier.backoff = 0.05
    start_request(world.vault, "acme", rid)
    complete_request(world.vault, "acme", rid, "erased", evidence={"calls": 1})
    assert notifier.poll() == 1
    assert controller.refused == []
    assert [d["request_status"] for d in controller.verified] == ["completed"]
    document = controller.verified[0]
    assert document["subject_request_id"] == rid and document["controller_id"] == "acme"
    headers, raw = controller.received[-1]
    signature = base64.b64decode(headers["X-OpenDSR-Signature"])
    with pytest.raises(InvalidSignature):
        public_key(controller.certificate).verify(  # type: ignore[arg-type]
            signature, raw.replace(b"completed", b"cancelled"), ec.ECDSA(hashes.SHA256())
        )
    attempts = [e for e in audit_entries(world.vault, "acme") if e["action"] == "request.callback"]
    attempts.reverse()  # the audit log lists the newest first
    assert [(e["outcome"], e["details"]["attempt"]) for e in attempts] == [("error", 1), ("ok", 2)]
    assert controller.url not in json.dumps(attempts, default=str)
    assert notifier.poll() == 0  # nothing changed since: nothing is sent twice
    status = world.call("GET", f"/opendsr/v1/requests/{rid}", "admin").json()
    assert status["request_status"] == "completed"


def test_a_forged_callback_is_refused_by_the_controller(world: World) -> None:
    """The controller's check is real: a body signed by another key fails against the certificate."""
    with Controller() as server:
        server.trust(world.client)
        other = ec.generate_private_key(ec.SECP256R1())
        raw = json.dumps(
            {"status_callback_url": server.url, "request_status": "completed"}
        ).encode()
        forged = base64.b64encode(other.sign(raw, ec.ECDSA(hashes.SHA256()))).decode()
        headers = {"X-OpenDSR-Processor-Domain": "localhost", "X-OpenDSR-Signature": forged}
        assert server.check(headers, raw) == 400
        assert server.check({**headers, "X-OpenDSR-Processor-Domain": "evil.example"}, raw) == 401


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


def test_the_server_pushes_each_status_change_at_once(vault) -> None:  # type: ignore[no-untyped-def]
    """End to end while serving: creation, in progress, completed; each change is called back
    within moments of its commit, though the notifier's poll period is an hour."""
    world = make_world(vault)
    app = create_app(vault, notify_every=3600, domain="processor.example")
    with Controller(domain="processor.example") as controller, TestClient(app) as client:
        world.client = client  # the lifespan starts the notifier's thread
        controller.trust(client)
        sent = body(status_callback_urls=[controller.url], subject_request_type="access")
        rid = sent["subject_request_id"]
        steps = [
            lambda: world.call("POST", "/opendsr/v1/requests", "admin", json=sent),
            lambda: start_request(vault, "acme", rid),
            lambda: complete_request(vault, "acme", rid, "exported", evidence={"calls": 1}),
        ]
        for step, status in zip(steps, ("pending", "in_progress", "completed"), strict=True):
            began = time.monotonic()
            step()
            while len(controller.verified) < len(controller.received) or not any(
                d["request_status"] == status for d in controller.verified
            ):  # fmt: skip
                assert time.monotonic() - began < 10, (status, controller.refused)
                time.sleep(0.02)
    assert controller.refused == []
    assert [d["request_status"] for d in controller.verified] == [
        "pending", "in_progress", "completed"]  # fmt: skip
    assert all(h["X-OpenDSR-Processor-Domain"] == "processor.example"
               for h, _ in controller.received)  # fmt: skip
    sent_ok = [e for e in audit_entries(vault, "acme", action="request.callback")]
    assert [e["outcome"] for e in sent_ok] == ["ok"] * 3


def _ca_signed(csr_pem: str, *, days: int = 90) -> str:
    """A test CA's answer to the certificate signing request."""
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test CA")])
    request = x509.load_pem_x509_csr(csr_pem.encode())
    now = datetime.now(UTC)
    usage = x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                          data_encipherment=False, key_agreement=False, key_cert_sign=False,
                          crl_sign=False, encipher_only=False, decipher_only=False)  # fmt: skip
    san = request.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    issued = (
        x509.CertificateBuilder().subject_name(request.subject).issuer_name(ca)
        .public_key(request.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=1)).not_valid_after(now + timedelta(days=days))
        .add_extension(san, critical=False).add_extension(usage, critical=True)
        .sign(ca_key, hashes.SHA256())
    )  # fmt: skip
    return issued.public_bytes(Encoding.PEM).decode()


def test_an_operator_installs_a_ca_issued_certificate(
    world: World, cli_env, capsys, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    made = run_cli(capsys, "opendsr", "csr", "--domain", "localhost")
    assert made.code == 0 and made.out.startswith("-----BEGIN CERTIFICATE REQUEST-----")
    (tmp_path / "issued.pem").write_text(_ca_signed(made.out))
    installed = run_cli(capsys, "opendsr", "install", str(tmp_path / "issued.pem"))
    assert installed.code == 0, installed.err
    assert installed.json()["domains"] == ["localhost"] and not installed.json()["self_signed"]
    certificate = discovered_certificate(world.client)
    assert certificate.issuer.rfc4514_string() == "CN=Test CA"
    created = world.call("POST", "/opendsr/v1/requests", "admin", json=body())
    verify(world, created)  # answers verify under the installed certificate
    entry = audit_entries(world.vault, "_operator", limit=1, action="opendsr.certificate")[0]
    assert entry["details"]["installed"] is True
    # a certificate of another key (here: a CA's answer to someone else's request) is refused
    other = ec.generate_private_key(ec.SECP256R1())
    foreign = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .sign(other, hashes.SHA256())
    )  # fmt: skip
    (tmp_path / "foreign.pem").write_text(_ca_signed(foreign.public_bytes(Encoding.PEM).decode()))
    refused = run_cli(capsys, "opendsr", "install", str(tmp_path / "foreign.pem"))
    assert refused.code == 5 and "signing key" in refused.err
    assert discovered_certificate(world.client).issuer.rfc4514_string() == "CN=Test CA"


def test_an_installed_certificate_is_not_served_once_expired_or_for_another_domain(
    world: World, cli_env, capsys, tmp_path, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    from callvault.rights import certificate as certificates

    made = run_cli(capsys, "opendsr", "csr", "--domain", "localhost")
    (tmp_path / "issued.pem").write_text(_ca_signed(made.out, days=10))
    assert run_cli(capsys, "opendsr", "install", str(tmp_path / "issued.pem")).code == 0
    assert discovered_certificate(world.client).issuer.rfc4514_string() == "CN=Test CA"
    # another domain: a controller checking the name would reject the CA's certificate
    other = x509.load_pem_x509_certificate(
        certificates.callback_certificate(world.vault, "dsr.example").encode()
    )
    assert other.issuer == other.subject  # self-signed, naming the domain served
    check_certificate(other, "dsr.example")
    entry = audit_entries(world.vault, "_operator", limit=1, action="opendsr.certificate")[0]
    assert entry["details"]["installed_not_served"] is True
    # serving it did not overwrite what the operator installed
    assert discovered_certificate(world.client).issuer.rfc4514_string() == "CN=Test CA"
    # expired: after its not-after, the installed certificate is never served
    later = datetime.now(UTC) + timedelta(days=11)
    monkeypatch.setattr(certificates, "utcnow", lambda: later)
    served = x509.load_pem_x509_certificate(
        certificates.callback_certificate(world.vault, "localhost").encode()
    )
    assert served.issuer == served.subject and served.not_valid_after_utc > later
    monkeypatch.setattr(certificates, "utcnow", lambda: datetime.now(UTC))
    # a renewed certificate, installed, is served again
    (tmp_path / "renewed.pem").write_text(_ca_signed(made.out, days=90))
    assert run_cli(capsys, "opendsr", "install", str(tmp_path / "renewed.pem")).code == 0
    assert discovered_certificate(world.client).issuer.rfc4514_string() == "CN=Test CA"


@pytest.mark.parametrize(
    ("name", "domain", "matches"),
    [("dsr.example.com", "DSR.example.com", True), ("*.example.com", "dsr.example.com", True),
     ("*.example.com", "a.b.example.com", False), ("*.example.com", "example.com", False),
     ("dsr.example.com", "other.example.com", False)],
)  # fmt: skip
def test_a_certificate_names_a_domain_as_rfc_6125_says(
    name: str, domain: str, matches: bool
) -> None:
    from callvault.rights.certificate import _names_domain

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "t")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
        .public_key(key.public_key()).serial_number(1).not_valid_before(now)
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    assert _names_domain(certificate, domain) is matches


def test_callbacks_reach_no_private_address_and_follow_no_redirect(
    world: World, controller: Controller, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    """A callback URL is the controller's input: the processor's own network is off limits, and a
    redirect could lead there, so neither is followed (OWASP SSRF prevention)."""
    from callvault.rights.callbacks import _post

    monkeypatch.delenv("CALLVAULT_CALLBACK_PRIVATE")
    assert _post(controller.url, b"{}", {}, 2.0) == (False, "address not allowed")
    assert controller.received == []  # nothing reached the loopback receiver

    class Redirect(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.send_response(307)
            self.send_header("Location", controller.url)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    monkeypatch.setenv("CALLVAULT_CALLBACK_PRIVATE", "allow")
    server = ThreadingHTTPServer(("127.0.0.1", 0), Redirect)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        moved = f"http://127.0.0.1:{server.server_address[1]}/moved"
        assert _post(moved, b"{}", {}, 2.0) == (False, "307")
    finally:
        server.shutdown()
        server.server_close()
    assert controller.received == []


@pytest.mark.parametrize(
    ("address", "public"),
    [("93.184.215.14", True), ("2606:2800:21f:cb07:6820:80da:af6b:8b2c", True),
     ("127.0.0.1", False), ("10.0.0.5", False), ("169.254.169.254", False), ("::1", False),
     ("fd00::1", False), ("::ffff:10.0.0.5", False), ("64:ff9b::a00:5", False),
     ("2002:7f00:1::", False), ("64:ff9b::5db8:d70e", True)],
)  # fmt: skip
def test_a_callback_address_must_be_public_embedded_ipv4_too(address: str, public: bool) -> None:
    import ipaddress

    from callvault.rights.callbacks import _public

    assert _public(ipaddress.ip_address(address)) is public


def test_callbacks_take_no_proxy_from_the_environment() -> None:
    """Through a proxy, the address checked would be the proxy's, not the controller's."""
    import urllib.request

    from callvault.rights.callbacks import _OPENER

    # (build_opener would add a ProxyHandler with the environment's proxies, were one set)
    assert not [h for h in _OPENER.handlers if isinstance(h, urllib.request.ProxyHandler)]
