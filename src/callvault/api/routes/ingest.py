"""Uploads through the collection gate: call records and directory exports, streamed to a spooled
temporary file (size-limited) and ingested whole or not at all (``on_error="fail"``)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from starlette.concurrency import run_in_threadpool

from callvault import CALL_FORMATS, DEFAULT_TZ, Principal, ingest_calls, ingest_subjects
from callvault.api.auth import allow, in_tenant
from callvault.api.deps import VaultDep
from callvault.api.limits import spool
from callvault.api.problems import documented

router = APIRouter(prefix="/api/v1/tenants/{tenant}/ingest", tags=["ingest"])
ERRORS = documented(401, 403, 404, 413, 422)
ROLES = ("tenant_admin", "operator_admin", "service")
UPLOAD = {"requestBody": {"required": True, "content": {"application/octet-stream": {
    "schema": {"type": "string", "format": "binary"}}}}}  # fmt: skip
CallFormat = Literal[CALL_FORMATS]  # type: ignore[valid-type]


@router.post("/calls", responses=ERRORS, openapi_extra=UPLOAD,
             summary="Ingest call records (the body is the file)")  # fmt: skip
async def calls(
    request: Request,
    vault: VaultDep,
    tenant: str,
    format: CallFormat = Query(..., description="The source format."),
    tz: str = Query(DEFAULT_TZ, max_length=64, description="Zone of naive timestamps."),
    utc: bool = Query(False, description="Naive timestamps are UTC."),
    who: Principal = Depends(in_tenant),
) -> dict[str, Any]:
    await run_in_threadpool(allow, vault, who, "ingest.calls", *ROLES)
    body = await spool(request, request.app.state.upload_limit)
    with body:
        report = await run_in_threadpool(
            ingest_calls, vault, tenant, body, format=format, tz=tz, utc=utc, actor=who.actor
        )
    return report.as_dict()


@router.post("/subjects", responses=ERRORS, openapi_extra=UPLOAD,
             summary="Ingest the tenant's users from a directory export (CSV or JSONL)")  # fmt: skip
async def subjects(
    request: Request,
    vault: VaultDep,
    tenant: str,
    format: Literal["csv", "jsonl"] = Query(..., description="CSV with header, or JSONL."),
    who: Principal = Depends(in_tenant),
) -> dict[str, Any]:
    await run_in_threadpool(allow, vault, who, "ingest.subjects", *ROLES)
    body = await spool(request, request.app.state.upload_limit)
    with body:
        report = await run_in_threadpool(
            ingest_subjects, vault, tenant, body, format=format, actor=who.actor
        )
    return report.as_dict()
