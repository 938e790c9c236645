"""The admin console for a tenant's administrator: sign in once with a tenant_admin token, then the
request queue with due dates (overdue highlighted), retention status, audit verification and the
calls-per-day chart. Every page re-authenticates the token kept in the session, so a revoked token
ends the session; a token of another role is refused and the refusal audited."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from callvault import (
    CallvaultError,
    Principal,
    Vault,
    authenticate,
    list_requests,
    refuse_role,
    retention_status,
    statistics,
    verify_audit,
)
from callvault.web.chart import calls_per_day
from callvault.web.pages import forbidden, form, redirect, render, session_of, sessions_of
from callvault.web.sessions import Session

router = APIRouter(prefix="/admin", include_in_schema=False)


def _vault(request: Request) -> Vault:
    vault: Vault = request.app.state.vault
    return vault


def _admin(request: Request) -> tuple[Session, Principal] | None:
    session = session_of(request)
    if session is None or session.kind != "admin" or session.token is None:
        return None
    try:
        return session, authenticate(_vault(request), session.token)
    except CallvaultError:
        sessions_of(request).drop(session)
        return None


@router.get("/login")
def login_form(request: Request) -> Response:
    session = session_of(request) or sessions_of(request).new()
    return render(request, "admin_login.html", session)


@router.post("/login")
async def login(request: Request) -> Response:
    session = session_of(request)
    fields = await form(request, session)
    if fields is None or session is None:
        return forbidden(request)
    vault = _vault(request)
    token = fields.get("token", "").strip()
    try:
        who = authenticate(vault, token)
        if who.role != "tenant_admin":
            raise refuse_role(vault, who, "web.admin.sign_in", f"role {who.role} may not sign in")
    except CallvaultError:
        return render(request, "admin_login.html", session, status=401, refused=True)
    sessions_of(request).drop(session)
    fresh = sessions_of(request).new(kind="admin", tenant_id=who.tenant_id, token=token)
    return redirect(request, "/admin/requests", fresh)


@router.post("/logout")
async def logout(request: Request) -> Response:
    session = session_of(request)
    if await form(request, session) is None or session is None:
        return forbidden(request)
    sessions_of(request).drop(session)
    return redirect(request, "/admin/login")


def _page(
    request: Request, template: str, build: Callable[[Vault, Principal], dict[str, Any]]
) -> Response:
    """An admin page: the signed-in admin's tenant only; anyone else goes to the sign-in."""
    signed = _admin(request)
    if signed is None:
        return redirect(request, "/admin/login")
    session, who = signed
    return render(request, template, session, **build(_vault(request), who))


@router.get("/requests")
def requests_page(request: Request) -> Response:
    return _page(request, "admin_requests.html",
                 lambda vault, who: {"rows": list_requests(vault, tenant=who.tenant_id)})  # fmt: skip


def _retention(vault: Vault, who: Principal) -> dict[str, Any]:
    return {"retention": retention_status(vault, tenant=who.tenant_id).tenants[0].as_dict()}


@router.get("/retention")
def retention_page(request: Request) -> Response:
    return _page(request, "admin_retention.html", _retention)


@router.get("/audit")
def audit_page(request: Request) -> Response:
    return _page(request, "admin_audit.html",
                 lambda vault, who: {"report": verify_audit(vault, who.tenant_id)})  # fmt: skip


def _statistics(vault: Vault, who: Principal) -> dict[str, Any]:
    start = datetime.now(UTC) - timedelta(days=30)
    result = statistics(vault, who.tenant_id, start=start, by="day", actor=who.actor)
    return {"result": result, "chart": calls_per_day(result["cells"])}


@router.get("/statistics")
def statistics_page(request: Request) -> Response:
    return _page(request, "admin_statistics.html", _statistics)
