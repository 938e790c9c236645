"""Data subject requests (Art. 12): the tenant's list, and the operator acting on a request.

A tenant admin (the controller) and an operator admin (the processor) see a tenant's requests. The
identity check is recorded by the controller: a tenant admin's token records it (method
``controller``, by that admin). An operator admin may not record one: it is the party that receives
the export or carries out the erasure, and a party that vouches for the requester and then receives
the data is self-declared (Art. 12(6)). Only an operator admin carries a request out (the export of an access or portability
request, an erasure), with the verification *recorded on the request*, never one the call declares;
an unverified request is refused (403) and the refusal audited (Art. 12(6)).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Query
from fastapi import Path as PathParam
from fastapi.responses import Response

from callvault import (
    InvalidInput,
    Principal,
    SubjectRequest,
    Verification,
    erase,
    export_subject,
    get_request,
    list_requests,
    verify_request,
)
from callvault.api.auth import allow, in_tenant
from callvault.api.deps import VaultDep
from callvault.api.problems import documented

router = APIRouter(prefix="/api/v1/tenants/{tenant}/requests", tags=["requests"])
ERRORS = documented(401, 403, 404, 413, 422)
ADMINS = ("tenant_admin", "operator_admin")
REQUEST_ID = PathParam(pattern=r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$",
                       description="The request's id (a lowercase UUID).")  # fmt: skip


@router.get("", responses=ERRORS, summary="The tenant's requests, oldest first")
def index(
    vault: VaultDep,
    tenant: str,
    who: Principal = Depends(in_tenant),
    overdue: bool = Query(False, description="Only open requests past their due date."),
) -> list[dict[str, Any]]:
    allow(vault, who, "request.list", *ADMINS)
    return [found.as_dict() for found in list_requests(vault, tenant=tenant, overdue=overdue)]


@router.get("/{request_id}", responses=ERRORS, summary="One request: state, due date, evidence")
def show(
    vault: VaultDep, tenant: str, request_id: str = REQUEST_ID, who: Principal = Depends(in_tenant)
) -> dict[str, Any]:
    allow(vault, who, "request.show", *ADMINS)
    return get_request(vault, tenant, request_id).as_dict()


@router.post("/{request_id}/verify", responses=ERRORS,
             summary="Record that the controller checked the requester's identity (tenant admin)")  # fmt: skip
def verify(
    vault: VaultDep, tenant: str, request_id: str = REQUEST_ID, who: Principal = Depends(in_tenant)
) -> dict[str, Any]:
    # Not the operator admin: it carries the request out, so it cannot also vouch (Art. 12(6)).
    allow(vault, who, "request.verify", "tenant_admin")
    check = Verification("controller", who.actor)
    return verify_request(vault, tenant, request_id, check, actor=who.actor).as_dict()


def _open(vault: VaultDep, tenant: str, request_id: str, kinds: tuple[str, ...]) -> SubjectRequest:
    found = get_request(vault, tenant, request_id)
    if found.type not in kinds:
        raise InvalidInput(f"is not a request of type {' or '.join(kinds)}", pointer="request_id")
    if found.subject_id is None:
        raise InvalidInput("names no known subject", pointer="request_id")
    if not found.is_open:  # a cancelled, refused or answered request is final (Art. 12(3))
        raise InvalidInput(f"is {found.state}: only a pending or in_progress request can be "
                           "carried out", pointer="request_id")  # fmt: skip
    return found


@router.post("/{request_id}/access", responses={**ERRORS, 200: {"content": {"application/zip": {}}}},
             response_class=Response,
             summary="Carry out an access or portability request: the export (operator admin)")  # fmt: skip
def access(
    vault: VaultDep, tenant: str, request_id: str = REQUEST_ID, who: Principal = Depends(in_tenant)
) -> Response:
    allow(vault, who, "subject.access", "operator_admin")
    found = _open(vault, tenant, request_id, ("access", "portability"))
    with tempfile.TemporaryDirectory(prefix="callvault-export-") as tmp:
        out = Path(tmp) / "export.zip"
        export_subject(vault, tenant, str(found.subject_id), out, verification=found.verification,
                       actor=who.actor, portability=found.type == "portability",
                       request_id=found.request_id)  # fmt: skip
        data = out.read_bytes()
    disposition = f'attachment; filename="access-{found.request_id}.zip"'
    return Response(data, media_type="application/zip",
                    headers={"Content-Disposition": disposition})  # fmt: skip


@router.post("/{request_id}/erase", responses=ERRORS,
             summary="Carry out an erasure request (operator admin)")  # fmt: skip
def erasure(
    vault: VaultDep, tenant: str, request_id: str = REQUEST_ID, who: Principal = Depends(in_tenant)
) -> dict[str, Any]:
    allow(vault, who, "subject.erase", "operator_admin")
    found = _open(vault, tenant, request_id, ("erasure",))
    done = erase(vault, tenant, str(found.subject_id), verification=found.verification,
                 actor=who.actor, channel="api", request_id=found.request_id)  # fmt: skip
    return done.as_dict()
