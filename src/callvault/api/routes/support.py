"""Support sessions: opened on a tenant admin's instruction (the admin's token is the approval,
Art. 28(3)(a)) for an engineer and the subjects of one ticket; closed by the admin. An engineer may
instead ask for one (``/requests``), which the tenant admin approves or denies here or in the admin
console."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from callvault import (
    Principal,
    approve_session,
    close_session,
    deny_session,
    open_session,
    request_session,
)
from callvault.api.auth import allow, in_tenant, surrogate
from callvault.api.deps import VaultDep
from callvault.api.problems import documented

router = APIRouter(prefix="/api/v1/tenants/{tenant}/support-sessions", tags=["support"])
ERRORS = documented(401, 403, 404, 413, 422)
REF = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$"


class SessionRequest(BaseModel):
    ticket: str = Field(pattern=REF, description="The support ticket the session serves.")
    engineer: str = Field(pattern=REF, description="The engineer's name (support:<name>).")
    hours: float = Field(gt=0, le=168, description="How long the session lasts.")
    subjects: list[str] = Field(
        min_length=1, max_length=100, description="The ticket's subjects (id, e-mail or number)."
    )


@router.post("", responses=ERRORS, status_code=201, summary="Open a session (tenant admin only)")
def open_(
    vault: VaultDep, tenant: str, body: SessionRequest, who: Principal = Depends(in_tenant)
) -> dict[str, Any]:
    allow(vault, who, "support.open", "tenant_admin")
    session = open_session(
        vault, tenant, ticket=body.ticket, engineer=body.engineer, hours=body.hours,
        approved_by=who.actor, subjects=body.subjects, actor=who.actor,
    )  # fmt: skip
    return session.as_dict()


@router.post("/{session}/close", responses=ERRORS, summary="Close a session; its key is destroyed")
def close(
    vault: VaultDep, tenant: str, session: str = surrogate(), who: Principal = Depends(in_tenant)
) -> dict[str, Any]:
    allow(vault, who, "support.close", "tenant_admin")
    return close_session(vault, tenant, session, actor=who.actor).as_dict()


class SessionAsk(BaseModel):
    ticket: str = Field(pattern=REF, description="The support ticket the session would serve.")
    subjects: list[str] = Field(
        min_length=1, max_length=100, description="The ticket's subjects (id, e-mail or number)."
    )


class Approval(BaseModel):
    hours: float = Field(gt=0, le=168, description="How long the approved session lasts.")


class Denial(BaseModel):
    reason: str = Field(min_length=1, max_length=500, description="Why (names no person).")


@router.post("/requests", responses=ERRORS, status_code=201,
             summary="Ask the tenant admin for a session (support engineer only)")  # fmt: skip
def ask(
    vault: VaultDep, tenant: str, body: SessionAsk, who: Principal = Depends(in_tenant)
) -> dict[str, Any]:
    allow(vault, who, "support.request", "support_engineer")
    session = request_session(vault, tenant, ticket=body.ticket, engineer=who.name,
                              subjects=body.subjects, actor=who.actor)  # fmt: skip
    return session.as_dict()


@router.post("/{session}/approve", responses=ERRORS,
             summary="Approve an asked-for session (tenant admin only); it opens now")  # fmt: skip
def approve(
    vault: VaultDep, tenant: str, body: Approval, session: str = surrogate(),
    who: Principal = Depends(in_tenant),
) -> dict[str, Any]:  # fmt: skip
    allow(vault, who, "support.approve", "tenant_admin")
    return approve_session(vault, tenant, session, approved_by=who.actor,
                           hours=body.hours).as_dict()  # fmt: skip


@router.post("/{session}/deny", responses=ERRORS,
             summary="Deny an asked-for session (tenant admin only)")  # fmt: skip
def deny(
    vault: VaultDep, tenant: str, body: Denial, session: str = surrogate(),
    who: Principal = Depends(in_tenant),
) -> dict[str, Any]:  # fmt: skip
    allow(vault, who, "support.deny", "tenant_admin")
    return deny_session(vault, tenant, session, actor=who.actor, reason=body.reason).as_dict()
