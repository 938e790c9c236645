"""Support-session approvals: the sessions support engineers asked for, which the tenant admin
approves (choosing how many hours it runs) or denies with a reason (Art. 28(3)(a): the controller
instructs the processor's diagnosis). The session id travels in the posted form only; a session of
another tenant, an unknown or an already-answered one get the same 404."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from callvault import (
    CallvaultError,
    NotFound,
    Principal,
    Vault,
    approve_session,
    deny_session,
    pending_sessions,
)
from callvault.web.admin_common import not_found, page, posted, vault_of
from callvault.web.pages import render

router = APIRouter()
HOURS = (1, 2, 4, 8, 24)  # the choices offered; the library allows up to a week


def _listing(vault: Vault, who: Principal) -> dict[str, Any]:
    return {"pending": pending_sessions(vault, who.tenant_id), "hours": HOURS}


@router.get("/support")
def support_page(request: Request) -> Response:
    return page(request, "admin_support.html", _listing)


@router.post("/support/decide")
async def decide(request: Request) -> Response:
    got = await posted(request)
    if isinstance(got, Response):
        return got
    session, who, fields = got
    vault = vault_of(request)
    sid = fields.get("session", "")
    try:
        if fields.get("decision") == "approve":
            hours = float(fields.get("hours") or 0)
            approve_session(vault, who.tenant_id, sid, approved_by=who.actor, hours=hours)
            done = "approved"
        else:
            deny_session(vault, who.tenant_id, sid, actor=who.actor,
                         reason=fields.get("reason", ""))  # fmt: skip
            done = "denied"
    except NotFound:
        return not_found(request, session, who)
    except (CallvaultError, ValueError) as exc:
        message = str(exc) if isinstance(exc, CallvaultError) else "hours: must be a number"
        return render(request, "admin_support.html", session, status=422, error=message,
                      **_listing(vault, who))  # fmt: skip
    return render(request, "admin_support.html", session, done=done, **_listing(vault, who))
