"""One subject's data: purpose-bound reads, voicemail audio, disclosure, restriction, objection.

The subject is named by its surrogate id in the path (never an e-mail or number: URLs end up in
access logs). A subject token reaches only itself; any other subject is "no such subject", as is
a subject of another tenant.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response
from pydantic import BaseModel, Field

from callvault import Principal, disclose, object_to, read_subject, read_voicemail, restrict
from callvault.api.auth import SUBJECT, allow, deny, in_tenant, surrogate
from callvault.api.deps import VaultDep
from callvault.api.problems import documented

router = APIRouter(prefix="/api/v1/tenants/{tenant}/subjects/{subject}", tags=["subjects"])
ERRORS = documented(401, 403, 404, 413, 422)
PURPOSE = Query(..., max_length=64, description="The purpose of the read (policy purpose name).")
REF = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$"


def _subject(subject: str = SUBJECT, who: Principal = Depends(in_tenant)) -> Principal:
    who.require_subject(who.tenant_id, subject)
    return who


def _may_read(vault: VaultDep, who: Principal, purpose: str, action: str) -> None:
    allow(vault, who, action, "service", "support_engineer", "subject")
    if who.role == "service" and purpose not in who.purposes:
        deny(vault, who, action, "the service token was not given this purpose")


@router.get("/data", responses=ERRORS, summary="Read the subject's data for one purpose")
def read(
    vault: VaultDep,
    tenant: str,
    subject: str,
    who: Principal = Depends(_subject),
    purpose: str = PURPOSE,
    ticket: str | None = Query(None, pattern=REF, description="Support ticket (support reads)."),
) -> dict[str, Any]:
    _may_read(vault, who, purpose, "read")
    return read_subject(vault, tenant, subject, purpose, who.actor, ticket=ticket)


@router.get(
    "/voicemail/{voicemail}",
    responses={**ERRORS, 200: {"content": {"application/octet-stream": {}}}},
    response_class=Response,
    summary="The audio of one voicemail in the subject's mailbox",
)
def voicemail(
    vault: VaultDep,
    tenant: str,
    subject: str,
    voicemail: str = surrogate(),
    who: Principal = Depends(_subject),
    purpose: str = PURPOSE,
) -> Response:
    _may_read(vault, who, purpose, "read.voicemail")
    audio = read_voicemail(vault, tenant, subject, voicemail, purpose, who.actor)
    return Response(audio, media_type="application/octet-stream")


@router.post("/disclosure", responses=ERRORS, summary="Export everything held (Art. 15, 20)")
def disclosure(
    vault: VaultDep, tenant: str, subject: str, who: Principal = Depends(_subject)
) -> dict[str, Any]:
    """The recipient follows from the token: a subject receives for itself, a tenant admin for the
    controller. It is never a field of the request (a recipient is never self-declared)."""
    allow(vault, who, "disclose", "subject", "tenant_admin")
    recipient = "subject" if who.role == "subject" else "controller"
    with tempfile.TemporaryDirectory(prefix="callvault-export-") as tmp:
        out = Path(tmp) / "export.json"
        disclose(vault, tenant, subject, recipient, out, actor=who.actor)
        document: dict[str, Any] = json.loads(out.read_text("utf-8"))
    return document


class Restriction(BaseModel):
    lift: bool = Field(False, description="End the restriction instead of starting it.")


class Objection(BaseModel):
    withdraw: bool = Field(False, description="Withdraw the objection instead of making it.")


@router.post("/restriction", responses=ERRORS, summary="Restrict processing (Art. 18) or lift it")
def restriction(
    vault: VaultDep,
    tenant: str,
    subject: str,
    body: Restriction,
    who: Principal = Depends(_subject),
) -> dict[str, Any]:
    allow(vault, who, "restrict", "subject", "tenant_admin")
    change = restrict(vault, tenant, subject, actor=who.actor, lift=body.lift)
    return {"subject": change.subject_id, "changed": change.changed, "state": change.state}


@router.post("/objections/{purpose}", responses=ERRORS,
             summary="Object to a purpose (Art. 21) or withdraw the objection")  # fmt: skip
def objection(
    vault: VaultDep,
    tenant: str,
    subject: str,
    purpose: str,
    body: Objection,
    who: Principal = Depends(_subject),
) -> dict[str, Any]:
    allow(vault, who, "object", "subject", "tenant_admin")
    change = object_to(vault, tenant, subject, purpose, actor=who.actor, withdraw=body.withdraw)
    return {"subject": change.subject_id, "changed": change.changed, "state": change.state}
