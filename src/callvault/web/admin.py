"""The admin console for a tenant's administrator: sign in with a tenant_admin token (or, when the
operator configured it, through an SSO proxy: :mod:`callvault.web.admin_auth`), then the request
queue with due dates (overdue highlighted) and its actions (:mod:`callvault.web.admin_requests`),
support-session approvals (:mod:`callvault.web.admin_support`), the collection profile and
agreement, the Art. 30 record and the notice (:mod:`callvault.web.admin_documents`), retention
status, audit verification and the statistics charts. Every page re-authenticates the session, so a
revoked token ends it; a token of another role is refused and the refusal audited."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from callvault import (
    CallvaultError,
    PolicyRefusal,
    Principal,
    Vault,
    list_requests,
    refuse_sign_in,
    retention_status,
    statistics,
    verify_audit,
)
from callvault.web import admin_documents, admin_requests, admin_support
from callvault.web.admin_common import forbidden_page, page, sign_ins, vault_of
from callvault.web.chart import calls_by_outcome, calls_per_day
from callvault.web.pages import form, redirect, render, session_of, sessions_of

router = APIRouter(prefix="/admin", include_in_schema=False)
for _part in (admin_requests, admin_support, admin_documents):
    router.include_router(_part.router)


@router.get("/login")
def login_form(request: Request) -> Response:
    session = session_of(request) or sessions_of(request).new()
    return render(request, "admin_login.html", session, sso="admin_sso" in sign_ins(request))


@router.post("/login")
async def login(request: Request) -> Response:
    """Sign in with the method the form names (``token`` or ``sso``); a new session on success."""
    session = session_of(request)
    fields = await form(request, session)
    if fields is None or session is None:
        return forbidden_page(request)
    methods = sign_ins(request)
    method = methods.get("admin_sso" if fields.get("method") == "sso" else "admin")
    try:
        if method is None:
            raise CallvaultError("this sign-in is not configured")
        who, token = method.sign_in(vault_of(request), request.headers, fields)
    except CallvaultError as exc:
        if not isinstance(exc, PolicyRefusal):  # a role refusal is audited where it is decided
            refuse_sign_in(vault_of(request), "sso" if fields.get("method") == "sso" else "token")
        return render(request, "admin_login.html", session, status=401, refused=True,
                      sso="admin_sso" in methods)  # fmt: skip
    sessions_of(request).drop(session)
    fresh = sessions_of(request).new(kind=method.kind, tenant_id=who.tenant_id, token=token)
    return redirect(request, "/admin/requests", fresh)


@router.post("/logout")
async def logout(request: Request) -> Response:
    session = session_of(request)
    if await form(request, session) is None or session is None:
        return forbidden_page(request)
    sessions_of(request).drop(session)
    return redirect(request, "/admin/login")


@router.get("/requests")
def requests_page(request: Request) -> Response:
    return page(request, "admin_requests.html",
                lambda vault, who: {"rows": list_requests(vault, tenant=who.tenant_id)})  # fmt: skip


def _retention(vault: Vault, who: Principal) -> dict[str, Any]:
    return {"retention": retention_status(vault, tenant=who.tenant_id).tenants[0].as_dict()}


@router.get("/retention")
def retention_page(request: Request) -> Response:
    return page(request, "admin_retention.html", _retention)


@router.get("/audit")
def audit_page(request: Request) -> Response:
    return page(request, "admin_audit.html",
                lambda vault, who: {"report": verify_audit(vault, who.tenant_id)})  # fmt: skip


def _statistics(vault: Vault, who: Principal) -> dict[str, Any]:
    start = datetime.now(UTC) - timedelta(days=30)
    result = statistics(vault, who.tenant_id, start=start, by="day", actor=who.actor)
    return {"result": result, "chart": calls_per_day(result["cells"]),
            "outcomes": calls_by_outcome(result["cells"])}  # fmt: skip


@router.get("/statistics")
def statistics_page(request: Request) -> Response:
    return page(request, "admin_statistics.html", _statistics)
