"""OpenDSR (formerly OpenGDPR): the controller (a tenant) sends its subjects' requests to the
processor (the operator) and follows them; the request records are the rights package's.

Discovery and the certificate are public (OpenDSR 6: a controller reads them before it holds any
token) and say nothing of any tenant. The request routes are authenticated as the tenant: a
``tenant_admin`` token, whose tenant is the ``controller_id`` and whose actor is the requester in the
audit log. The controller verified the subject before sending (OpenDSR 3.2, GDPR Art. 12(6)); that
is the verification recorded. Answers are signed as the specification asks (``X-OpenDSR-Signature``
over the raw body, ``X-OpenDSR-Processor-Domain`` the domain the certificate names, and
``processor_signature`` in the creation and cancellation bodies), verifiable with the X.509
certificate whose URL discovery gives in ``processor_certificate``; a request of another tenant is
"not found", as an unknown one, and the refusal is audited.
"""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import AnyHttpUrl, BaseModel, Field

from callvault import (
    InvalidInput,
    Principal,
    Vault,
    Verification,
    callback_certificate,
    callback_verifying_key,
    cancel_request,
    create_request,
    get_request,
    opendsr_status,
    sign_body,
    with_processor_signature,
)
from callvault.api.auth import allow, principal
from callvault.api.deps import VaultDep
from callvault.api.problems import documented

router = APIRouter(prefix="/opendsr/v1", tags=["opendsr"])
ERRORS = documented(401, 403, 404, 413, 422)
API_VERSION = "2.0"
REQUEST_TYPES = ("access", "portability", "erasure")
IDENTITY_TYPES = ("email", "phone_number", "controller_customer_id")
REQUEST_ID = Path(pattern=r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$",
                  description="The subject_request_id (a lowercase UUID v4).")  # fmt: skip


class Identity(BaseModel):
    identity_type: Literal["email", "phone_number", "controller_customer_id"] = Field(
        description="controller_customer_id is callvault's surrogate id of the subject."
    )
    identity_value: str = Field(min_length=1, max_length=254)
    identity_format: Literal["raw"]


class OpenDsrRequest(BaseModel):
    regulation: Literal["gdpr"] = "gdpr"
    subject_request_id: uuid.UUID = Field(description="A UUID v4 the controller generated.")
    subject_request_type: Literal["access", "portability", "erasure"]
    submitted_time: datetime = Field(description="When the subject made the request (RFC 3339).")
    subject_identities: list[Identity] = Field(min_length=1, max_length=1)
    api_version: str | None = Field(default=None, max_length=16)
    status_callback_urls: list[AnyHttpUrl] = Field(default_factory=list, max_length=5)
    extensions: dict[str, Any] | None = None


class Discovery(BaseModel):
    api_version: str
    supported_identities: list[dict[str, str]]
    supported_subject_request_types: list[str]
    supported_regulations: list[str]
    processor_certificate: str = Field(
        description="URL of the X.509 certificate (PEM) whose key signs answers and callbacks."
    )
    processor_public_key: str = Field(description="The certificate's public key (PEM).")
    signature_algorithm: str


class Created(BaseModel):
    controller_id: str
    subject_request_id: str
    expected_completion_time: str
    received_time: str
    encoded_request: str
    processor_signature: str = Field(description="Signature of the body without this field.")


class Status(BaseModel):
    controller_id: str
    subject_request_id: str
    subject_request_type: str
    request_status: Literal["pending", "in_progress", "completed", "cancelled"]
    expected_completion_time: str
    received_time: str
    api_version: str


class Cancelled(BaseModel):
    controller_id: str
    subject_request_id: str
    received_time: str
    api_version: str
    processor_signature: str = Field(description="Signature of the body without this field.")


def controller(vault: VaultDep, who: Principal = Depends(principal)) -> Principal:
    """The tenant admin acting as its tenant (the controller); any other role is refused (403)."""
    allow(vault, who, "opendsr", "tenant_admin")
    return who


Controller = Annotated[Principal, Depends(controller)]


def domain_of(request: Request) -> str:
    """The processor's domain (``serve --domain``): the certificate's SAN names it."""
    domain: str = request.app.state.domain
    return domain


def signed(vault: Vault, request: Request, document: dict[str, Any], status: int = 200) -> Response:
    """``document`` as JSON with the OpenDSR signature headers over its exact bytes."""
    body = json.dumps(document, sort_keys=True).encode()
    headers = {"X-OpenDSR-Processor-Domain": domain_of(request),
               "X-OpenDSR-Signature": sign_body(vault, body)}  # fmt: skip
    return Response(body, status, headers=headers, media_type="application/json")


@router.get("/discovery", response_model=Discovery, responses=documented(413, 422),
            summary="What this processor supports, and its certificate (public, no token)")  # fmt: skip
def discovery(vault: VaultDep, request: Request) -> Response:
    # Public (OpenDSR 6): the same document for everyone; nothing about any tenant.
    callback_certificate(vault, domain_of(request))  # made before its URL is given out
    document = {
        "api_version": API_VERSION,
        "supported_identities": [
            {"identity_type": kind, "identity_format": "raw"} for kind in IDENTITY_TYPES
        ],
        "supported_subject_request_types": list(REQUEST_TYPES),
        "supported_regulations": ["gdpr"],
        # From the configured domain, never the Host header: the document is signed, and a forged
        # Host would have us sign a URL pointing at someone else's certificate.
        "processor_certificate": f"https://{domain_of(request)}{request.app.url_path_for('certificate')}",
        "processor_public_key": callback_verifying_key(vault),
        "signature_algorithm": "ecdsa-p256-sha256",
    }
    return signed(vault, request, document)


@router.get("/certificate.pem", name="certificate", response_class=Response,
            responses={200: {"content": {"application/x-pem-file": {}}}},
            summary="The X.509 certificate of the signing key (public, no token)")  # fmt: skip
def certificate(vault: VaultDep, request: Request) -> Response:
    pem = callback_certificate(vault, domain_of(request))
    return Response(pem, media_type="application/x-pem-file",
                     headers={"Cache-Control": "public, max-age=3600"})  # fmt: skip


@router.post("/requests", response_model=Created, status_code=201, responses=ERRORS,
             summary="Receive a request from the controller (tenant admin only)")  # fmt: skip
async def receive(vault: VaultDep, request: Request, body: OpenDsrRequest,
                  who: Controller) -> Response:  # fmt: skip
    raw = await request.body()
    if body.subject_request_id.version != 4:  # OpenDSR 7.1.1; the status route takes v4 only
        raise InvalidInput("must be a UUID v4", pointer="subject_request_id")
    submitted = _submitted(body.submitted_time)
    # The identity's value goes to the lookup only: it is never logged nor audited.
    identity = body.subject_identities[0]
    _check_identity(identity)
    verification = Verification("controller", who.actor, datetime.now(UTC))
    created = await run_in_threadpool(
        create_request, vault, who.tenant_id, identity.identity_value, body.subject_request_type,
        actor=who.actor, channel="opendsr", verification=verification, received_at=submitted,
        request_id=str(body.subject_request_id),
        callbacks=[str(url) for url in body.status_callback_urls],
    )  # fmt: skip
    document = {
        "controller_id": created.tenant_id,
        "subject_request_id": created.request_id,
        "expected_completion_time": created.due_at.isoformat(),
        "received_time": created.received_at.isoformat(),
        "encoded_request": base64.b64encode(raw).decode("ascii"),
    }
    return signed(vault, request, with_processor_signature(vault, document), 201)


_FORMS = {"email": "@", "phone_number": "+"}


def _check_identity(identity: Identity) -> None:
    """The value must be of its declared type (an extension is no phone number)."""
    value, kind = identity.identity_value, identity.identity_type
    if kind == "controller_customer_id":
        ok = len(value) == 32 and all(c in "0123456789abcdef" for c in value)
    else:
        ok = _FORMS[kind] in value
    if not ok:
        raise InvalidInput(f"is not a {kind}", pointer="subject_identities/0/identity_value")


def _submitted(at: datetime) -> datetime:
    """The subject's submission time: the month of Art. 12(3) runs from it; never in the future."""
    if at.tzinfo is None:
        raise InvalidInput("needs a time zone (RFC 3339)", pointer="submitted_time")
    if at > datetime.now(UTC) + timedelta(minutes=5):
        raise InvalidInput("is in the future", pointer="submitted_time")
    return at.astimezone(UTC)


@router.get("/requests/{subject_request_id}", response_model=Status, responses=ERRORS,
            summary="A request's status")  # fmt: skip
def status(vault: VaultDep, request: Request, who: Controller,
           subject_request_id: str = REQUEST_ID) -> Response:  # fmt: skip
    found = get_request(vault, who.tenant_id, subject_request_id)
    return signed(vault, request, opendsr_status(found))


@router.delete("/requests/{subject_request_id}", response_model=Cancelled, status_code=202,
               responses=ERRORS, summary="Cancel a pending request")  # fmt: skip
def cancel(vault: VaultDep, request: Request, who: Controller,
           subject_request_id: str = REQUEST_ID) -> Response:  # fmt: skip
    # OpenDSR 9: a controller may cancel while the request is pending, not once work started.
    if get_request(vault, who.tenant_id, subject_request_id).state != "pending":
        raise InvalidInput("only a pending request can be cancelled", pointer="subject_request_id")
    cancelled = cancel_request(vault, who.tenant_id, subject_request_id, actor=who.actor)
    document = {"controller_id": cancelled.tenant_id, "subject_request_id": cancelled.request_id,
                "received_time": datetime.now(UTC).isoformat(), "api_version": API_VERSION}  # fmt: skip
    return signed(vault, request, with_processor_signature(vault, document), 202)
