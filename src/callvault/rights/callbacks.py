"""OpenDSR status callbacks: the processor tells the controller when a request's status changes.

OpenDSR (section 8.5) has the processor call every ``status_callback_urls`` entry of a request on
each status change, signed so the controller can check who sent it (section 8.6: the
``X-OpenDSR-Signature`` header, the Base64 signature of the raw body). The signature is ECDSA P-256
over SHA-256 (FIPS 186-4, as the specification asks), by a key derived from a random seed in the key
store (never in the data database); its public half is published by the discovery endpoint. Each
attempt is audited (Art. 5(2), Art. 28(3)(e): the processor shows it assisted the controller), with
the URL's position in the request, never the URL or any identifier.

A callback URL is the controller's input, so the processor's own network is off limits (OWASP's
server-side request forgery guidance): the address actually connected to must be a public one, and
redirects are not followed (a 3xx is a failed delivery). A controller on the operator's own network
(and the tests' receiver on 127.0.0.1) needs ``CALLVAULT_CALLBACK_PRIVATE=allow``.
"""

from __future__ import annotations

import base64
import http.client
import ipaddress
import json
import os
import socket
import time
import urllib.error
import urllib.request
from datetime import datetime
from functools import lru_cache
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import select

from callvault.rights.requests import SubjectRequest, _from_row
from callvault.store.audit_chain import AuditEntry
from callvault.store.schema.requests import subject_requests
from callvault.vault import Vault

API_VERSION = "2.0"
SIGNATURE_ALGORITHM = "ecdsa-p256-sha256"
# OpenDSR has no "refused": a refused request is over without being fulfilled, which a controller
# reads as cancelled; the reason is told to the subject through the controller (Art. 12(4)).
_STATUS = {"pending": "pending", "in_progress": "in_progress", "completed": "completed",
           "cancelled": "cancelled", "refused": "cancelled"}  # fmt: skip
ACTOR = "operator"  # the processor itself sends callbacks


@lru_cache(maxsize=8)
def _key_of(seed: bytes) -> ec.EllipticCurvePrivateKey:
    order = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551  # P-256's n
    return ec.derive_private_key(int.from_bytes(seed, "big") % (order - 1) + 1, ec.SECP256R1())


def signing_key(vault: Vault) -> ec.EllipticCurvePrivateKey:
    """The ECDSA P-256 key signing OpenDSR answers and callbacks (its certificate:
    :mod:`callvault.rights.certificate`)."""
    return _key_of(vault.keyring.callback_seed())


def callback_verifying_key(vault: Vault) -> str:
    """The PEM public key that verifies the vault's OpenDSR signatures (published in discovery)."""
    public = signing_key(vault).public_key()
    pem = public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return pem.decode("ascii")


def sign_body(vault: Vault, body: bytes) -> str:
    """The Base64 ECDSA P-256/SHA-256 signature of ``body`` (the ``X-OpenDSR-Signature`` header)."""
    signature = signing_key(vault).sign(body, ec.ECDSA(hashes.SHA256()))
    return base64.b64encode(signature).decode("ascii")


def with_processor_signature(vault: Vault, document: dict[str, Any]) -> dict[str, Any]:
    """``document`` with ``processor_signature`` (OpenDSR 7.3, 9.2): the Base64 signature of the
    SHA-256 digest of the document's body without that field, i.e. of
    ``json.dumps(document, sort_keys=True)`` (how callvault writes every OpenDSR body), so a
    controller can keep the receipt and check it later apart from the HTTP exchange."""
    body = json.dumps(document, sort_keys=True).encode()
    return {**document, "processor_signature": sign_body(vault, body)}


def opendsr_status(request: SubjectRequest) -> dict[str, Any]:
    """The OpenDSR status document of a request (section 8.3)."""
    return {
        "controller_id": request.tenant_id,
        "subject_request_id": request.request_id,
        "subject_request_type": request.type,
        "request_status": _STATUS[request.state],
        "expected_completion_time": request.due_at.isoformat(),
        "received_time": request.received_at.isoformat(),
        "api_version": API_VERSION,
    }


def changed_requests(vault: Vault, since: datetime) -> list[SubjectRequest]:
    """OpenDSR requests with callback URLs whose status changed after ``since``, oldest first."""
    t = subject_requests.c
    query = (
        select(subject_requests)
        .where(t.channel == "opendsr", t.state_at > since)
        .order_by(t.state_at, t.request_id)
    )
    with vault.engine.connect() as conn:
        found = [_from_row(row) for row in conn.execute(query)]
    return [request for request in found if request.callbacks]


def send_callbacks(
    vault: Vault,
    request: SubjectRequest,
    *,
    domain: str,
    attempts: int = 4,
    backoff: float = 0.5,
    timeout: float = 5.0,
) -> list[bool]:
    """POST the request's status to each of its callback URLs, signed; a failed attempt is retried
    after ``backoff`` seconds, doubling, at most ``attempts`` times. Every attempt is audited.
    Returns, per URL, whether it was delivered."""
    status = opendsr_status(request)
    delivered = []
    for index, url in enumerate(request.callbacks):
        body = json.dumps({**status, "status_callback_url": url}, sort_keys=True).encode()
        headers = {"Content-Type": "application/json", "X-OpenDSR-Processor-Domain": domain,
                   "X-OpenDSR-Signature": sign_body(vault, body)}  # fmt: skip
        ok = False
        for attempt in range(1, max(1, attempts) + 1):
            ok, result = _post(url, body, headers, timeout)
            _audit(vault, request, status["request_status"], index, attempt, ok, result)
            if ok:
                break
            if attempt < attempts:
                time.sleep(backoff * 2 ** (attempt - 1))
        delivered.append(ok)
    return delivered


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is not followed: it could lead anywhere, past the address check."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
NOT_ALLOWED = "address not allowed"


def _public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """A global address, and for IPv6 one whose embedded IPv4 address (v4-mapped, 6to4, NAT64)
    is global too: ``64:ff9b::a00:5`` reaches 10.0.0.5 through a NAT64 gateway."""
    if not address.is_global:
        return False
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is None and any(address in net for net in _NAT64):
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None and not embedded.is_global:
            return False
    return True


def _public_connection(address: tuple[str, int], *args: Any, **kwargs: Any) -> socket.socket:
    """``socket.create_connection``, then the peer checked before anything is sent on it (no
    TLS handshake either): one refusal for every non-public address, which says nothing of what
    listens there."""
    sock = socket.create_connection(address, *args, **kwargs)
    if os.environ.get("CALLVAULT_CALLBACK_PRIVATE") == "allow":
        return sock
    if not _public(ipaddress.ip_address(sock.getpeername()[0])):
        sock.close()
        raise PermissionError(NOT_ALLOWED)
    return sock


class _PublicHTTPConnection(http.client.HTTPConnection):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._create_connection = _public_connection


class _PublicHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._create_connection = _public_connection


class _PublicHTTP(urllib.request.HTTPHandler):
    def http_open(self, req: urllib.request.Request) -> Any:
        return self.do_open(_PublicHTTPConnection, req)


class _PublicHTTPS(urllib.request.HTTPSHandler):
    def https_open(self, req: urllib.request.Request) -> Any:
        # as the standard handler does, with the connection that checks the peer
        context = getattr(self, "_context", None)  # the handler's SSL context, if one was given
        return self.do_open(_PublicHTTPSConnection, req, context=context)


# No proxy from the environment: through a proxy the address checked would be the proxy's.
_OPENER = urllib.request.build_opener(
    urllib.request.ProxyHandler({}), _PublicHTTP, _PublicHTTPS, _NoRedirect
)


def _post(url: str, body: bytes, headers: dict[str, str], timeout: float) -> tuple[bool, str]:
    """(delivered, what happened): the HTTP status, or the error's class (never its text, which may
    quote the URL)."""
    if not url.startswith(("http://", "https://")):
        return False, "unsupported scheme"
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with _OPENER.open(request, timeout=timeout) as response:  # the scheme is checked above
            return 200 <= response.status < 300, str(response.status)
    except urllib.error.HTTPError as exc:
        return False, str(exc.code)
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, PermissionError):
            return False, NOT_ALLOWED
        return False, type(exc.reason).__name__ if isinstance(exc.reason, OSError) else "URLError"
    except (OSError, ValueError) as exc:
        return False, type(exc).__name__


def _audit(vault: Vault, request: SubjectRequest, status: str, index: int, attempt: int,
           ok: bool, result: str) -> None:  # fmt: skip
    details = {"request_id": request.request_id, "request_status": status, "callback": index,
               "attempt": attempt, "result": result}  # fmt: skip
    entry = AuditEntry(actor=ACTOR, action="request.callback", outcome="ok" if ok else "error",
                       subject_id=request.subject_id, details=details)  # fmt: skip
    with vault.transaction() as conn:
        vault.audit(conn, request.tenant_id, entry)
