"""Uploads through the collection gate: call records, directory exports and voicemail spools (a tar
archive), streamed to a spooled temporary file (size-limited) and ingested whole or not at all
(``on_error="fail"``)."""

from __future__ import annotations

import tarfile
import tempfile
from pathlib import Path
from typing import IO, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from starlette.concurrency import run_in_threadpool

from callvault import (
    CALL_FORMATS,
    DEFAULT_CONTEXT,
    DEFAULT_TZ,
    InvalidInput,
    Principal,
    TooLarge,
    ingest_calls,
    ingest_subjects,
    ingest_voicemail,
)
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


def _unpack(archive: IO[bytes], into: Path, limit: int) -> None:
    """A tar archive (optionally gzip) of the spool, unpacked under ``into`` only: the ``data``
    filter refuses absolute paths, ``..``, links out of the tree and device files; the members'
    total size is capped so a small archive cannot unpack into a full disk."""
    try:
        with tarfile.open(fileobj=archive, mode="r:*") as tar:
            members = tar.getmembers()
            if sum(m.size for m in members) > limit:
                raise TooLarge(f"the unpacked spool is over {limit} bytes")
            tar.extractall(into, members=members, filter="data")
    except (tarfile.TarError, OSError) as exc:
        raise InvalidInput("the body is not a readable tar archive of a voicemail spool") from exc


def _ingest_spool(vault: Any, tenant: str, body: IO[bytes], limit: int, **options: Any) -> Any:
    with tempfile.TemporaryDirectory(prefix="callvault-spool-") as tmp:
        _unpack(body, Path(tmp), limit)
        return ingest_voicemail(vault, tenant, tmp, **options)


@router.post("/voicemail", responses=ERRORS, openapi_extra=UPLOAD,
             summary="Ingest an Asterisk voicemail spool (the body is a tar archive of it)")  # fmt: skip
async def voicemail(
    request: Request,
    vault: VaultDep,
    tenant: str,
    context: str = Query(
        DEFAULT_CONTEXT,
        max_length=64,
        pattern=r"^[A-Za-z0-9_.-]+$",
        description="The voicemail context to read.",
    ),
    who: Principal = Depends(in_tenant),
) -> dict[str, Any]:
    await run_in_threadpool(allow, vault, who, "ingest.voicemail", *ROLES)
    limit = request.app.state.upload_limit
    body = await spool(request, limit)
    with body:
        report = await run_in_threadpool(
            _ingest_spool, vault, tenant, body, limit, context=context, actor=who.actor
        )
    return report.as_dict()
