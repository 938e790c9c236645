"""A tenant's own view: its profile, statistics, retention, audit chain, Art. 30 record, notice."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import PlainTextResponse

from callvault import (
    IntegrityError,
    Principal,
    describe_tenant,
    parse_instant,
    records_of_processing,
    render_notice,
    retention_status,
    statistics,
    tenant_profile,
    verify_audit,
)
from callvault.api.auth import allow, deny, in_tenant
from callvault.api.deps import VaultDep
from callvault.api.problems import documented

router = APIRouter(prefix="/api/v1/tenants/{tenant}", tags=["tenant"])
ADMINS = ("tenant_admin", "operator_admin")
ERRORS = documented(401, 403, 404, 413, 422)


@router.get("", responses=ERRORS, summary="The tenant's profile, agreement, retention, counts")
def show(vault: VaultDep, tenant: str, who: Principal = Depends(in_tenant)) -> dict[str, Any]:
    allow(vault, who, "tenant.show", *ADMINS)
    return describe_tenant(vault, tenant)


@router.get("/statistics", responses=ERRORS, summary="Anonymous statistics of the tenant's calls")
def stats(
    vault: VaultDep,
    tenant: str,
    who: Principal = Depends(in_tenant),
    start: str | None = Query(None, alias="from", description="ISO 8601 date or instant."),
    end: str | None = Query(None, alias="to", description="ISO 8601 date or instant."),
    by: Literal["hour", "day"] = "day",
    purpose: str | None = Query(None, max_length=64, description="A statistics purpose."),
) -> dict[str, Any]:
    allow(vault, who, "stats", *ADMINS, "service")
    if who.role == "service" and purpose not in who.purposes:
        deny(vault, who, "stats", "the service token was not given this purpose")
    return statistics(
        vault,
        tenant,
        start=parse_instant(start, field="from") if start else None,
        end=parse_instant(end, field="to", end_of_day=True) if end else None,
        by=by,
        actor=who.actor,
        purpose=purpose,
    )


@router.get("/retention", responses=ERRORS, summary="Retention rules, last run, overdue records")
def retention(vault: VaultDep, tenant: str, who: Principal = Depends(in_tenant)) -> dict[str, Any]:
    allow(vault, who, "retention.status", *ADMINS)
    return retention_status(vault, tenant=tenant).as_dict()


@router.get("/audit/verify", responses=documented(401, 403, 404, 409, 422),
            summary="Verify the tenant's audit chain (409 if tampered with)")  # fmt: skip
def verify(vault: VaultDep, tenant: str, who: Principal = Depends(in_tenant)) -> dict[str, Any]:
    allow(vault, who, "audit.verify", *ADMINS)
    report = verify_audit(vault, tenant)
    if not report.ok:
        raise IntegrityError(f"audit log tampered: {report.problem}")
    return {"ok": True, "checked": report.checked, "chains": report.chains}


@router.get("/records", responses=ERRORS, summary="The Art. 30 records for this tenant")
def records(vault: VaultDep, tenant: str, who: Principal = Depends(in_tenant)) -> dict[str, Any]:
    allow(vault, who, "ropa", *ADMINS)
    return records_of_processing(vault, tenant)


@router.get("/notice", responses=ERRORS, response_class=PlainTextResponse,
            summary="The privacy notice (Art. 13/14) for the tenant's users")  # fmt: skip
def notice(
    vault: VaultDep,
    tenant: str,
    who: Principal = Depends(in_tenant),
    format: Literal["md", "html"] = "md",
) -> PlainTextResponse:
    url = vault.engine.url.render_as_string(hide_password=False)
    text = render_notice(vault.policy, tenant_profile(url, tenant), format)
    media = "text/html" if format == "html" else "text/markdown"
    return PlainTextResponse(text, media_type=media)
