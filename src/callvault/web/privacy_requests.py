"""The privacy centre's rights pages for a signed-in subject: download its access export (Art. 15,
the zip of ``callvault dsr access``), ask for erasure (Art. 17) or rectification (Art. 16), follow its
requests with their due dates (Art. 12(3)) and cancel one still pending. The subject is the one the
session's code sign-in proved (method ``one_time_code``), never one named in the form; requests are
recorded through channel ``privacy_centre`` and answered later by the tenant's administrator."""

from __future__ import annotations

import tempfile
from pathlib import Path as FilePath

from fastapi import APIRouter, Request
from fastapi.responses import Response

from callvault import (
    InvalidInput,
    NotFound,
    Verification,
    ask_request,
    cancel_own_request,
    export_subject,
    own_requests,
    subject_overview,
)
from callvault.web.pages import HEADERS, forbidden, form, redirect, render, sessions_of
from callvault.web.privacy import TENANT, subject_session, vault_of
from callvault.web.sessions import Session

router = APIRouter(prefix="/privacy/{tenant}", include_in_schema=False)
EXPORT_NAME = "access-export.zip"  # names no one


def _verified(session: Session) -> Verification:
    """The session's code sign-in, as the identity check of what the subject asks (Art. 12(6))."""
    subject_id = session.subject_id or ""
    return Verification("one_time_code", by=f"subject:{subject_id}", subject_id=subject_id)


async def _signed_form(request: Request, tenant: str) -> tuple[Session, dict[str, str]] | None:
    session = subject_session(request, tenant)
    fields = await form(request, session)
    if fields is None or session is None:
        return None
    return session, fields


@router.post("/export")
async def export(request: Request, tenant: str = TENANT) -> Response:
    signed = await _signed_form(request, tenant)
    if signed is None:
        return forbidden(request)
    session, _ = signed
    with tempfile.TemporaryDirectory(prefix="callvault-web-") as work:
        out = FilePath(work) / EXPORT_NAME
        export_subject(vault_of(request), tenant, session.subject_id or "", out,
                       verification=_verified(session), actor=f"subject:{session.subject_id}",
                       channel="privacy_centre")  # fmt: skip
        body = out.read_bytes()
    headers = {**HEADERS, "Content-Disposition": f'attachment; filename="{EXPORT_NAME}"'}
    return Response(body, media_type="application/zip", headers=headers)


@router.post("/erasure")
async def erasure(request: Request, tenant: str = TENANT) -> Response:
    signed = await _signed_form(request, tenant)
    if signed is None:
        return forbidden(request)
    session, _ = signed
    ask_request(vault_of(request), tenant, session.subject_id or "", "erasure",
                verification=_verified(session))  # fmt: skip
    return _asked(request, tenant, session)


@router.post("/rectification")
async def rectification(request: Request, tenant: str = TENANT) -> Response:
    signed = await _signed_form(request, tenant)
    if signed is None:
        return forbidden(request)
    session, fields = signed
    field = fields.get("field", "")
    try:
        ask_request(vault_of(request), tenant, session.subject_id or "", "rectification",
                    verification=_verified(session), field=field,
                    value=fields.get("value", ""))  # fmt: skip
    except InvalidInput:
        overview = subject_overview(vault_of(request), tenant, session.subject_id or "")
        return render(request, "privacy_me.html", session, status=422, tenant=tenant,
                      overview=overview, bad_field=field if field in ("name", "email", "phone")
                      else "field")  # fmt: skip
    return _asked(request, tenant, session)


def _asked(request: Request, tenant: str, session: Session) -> Response:
    session.notice = "request_received"  # shown once on the requests page
    sessions_of(request).save(session)
    return redirect(request, f"/privacy/{tenant}/requests", session)


@router.get("/requests")
def requests_page(request: Request, tenant: str = TENANT) -> Response:
    session = subject_session(request, tenant)
    if session is None:
        return redirect(request, f"/privacy/{tenant}/")
    rows = own_requests(vault_of(request), tenant, session.subject_id or "")
    notice = session.notice
    if notice:
        session.notice = None
        sessions_of(request).save(session)
    return render(request, "privacy_requests.html", session, tenant=tenant, rows=rows,
                  notice=notice)  # fmt: skip


@router.post("/requests/cancel")
async def cancel(request: Request, tenant: str = TENANT) -> Response:
    signed = await _signed_form(request, tenant)
    if signed is None:
        return forbidden(request)
    session, fields = signed
    try:
        cancel_own_request(vault_of(request), tenant, session.subject_id or "",
                           fields.get("request", ""))  # fmt: skip
    except (NotFound, InvalidInput):
        return forbidden(request)
    session.notice = "request_cancelled"
    sessions_of(request).save(session)
    return redirect(request, f"/privacy/{tenant}/requests", session)
