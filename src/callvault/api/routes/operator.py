"""The operator's (processor's) administration: the whole vault's audit, checkpoint, records,
retention. Operator admin tokens only; none of these return personal data."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from callvault import (
    IntegrityError,
    Principal,
    make_checkpoint,
    records_of_processing,
    retention_status,
    verify_audit,
)
from callvault.api.auth import allow, principal
from callvault.api.deps import VaultDep
from callvault.api.problems import documented

router = APIRouter(prefix="/api/v1", tags=["operator"])
ERRORS = documented(401, 403, 413, 422)


@router.get("/whoami", responses=ERRORS, summary="What the bearer token authenticates")
def whoami(who: Principal = Depends(principal)) -> dict[str, Any]:
    return {"actor": who.actor, "role": who.role, "tenant": who.tenant_id,
            "purposes": list(who.purposes), "token_id": who.token_id}  # fmt: skip


@router.get("/audit/verify", responses=documented(401, 403, 409, 413, 422),
            summary="Verify every audit chain of the vault")  # fmt: skip
def verify(vault: VaultDep, who: Principal = Depends(principal)) -> dict[str, Any]:
    allow(vault, who, "audit.verify", "operator_admin")
    report = verify_audit(vault)
    if not report.ok:
        raise IntegrityError(f"audit log tampered: {report.problem}")
    return {"ok": True, "checked": report.checked, "chains": report.chains}


@router.post("/audit/checkpoint", responses=ERRORS, summary="Sign every chain's head now")
def checkpoint(vault: VaultDep, who: Principal = Depends(principal)) -> dict[str, Any]:
    allow(vault, who, "audit.checkpoint", "operator_admin")
    return make_checkpoint(vault, actor=who.actor)


@router.get("/records", responses=ERRORS, summary="Every Art. 30 record (30(1) and 30(2))")
def records(vault: VaultDep, who: Principal = Depends(principal)) -> dict[str, Any]:
    allow(vault, who, "ropa", "operator_admin")
    return records_of_processing(vault)


@router.get("/retention", responses=ERRORS, summary="Retention status of every tenant")
def retention(vault: VaultDep, who: Principal = Depends(principal)) -> dict[str, Any]:
    allow(vault, who, "retention.status", "operator_admin")
    return retention_status(vault).as_dict()
