"""The privacy centre for a tenant's data subjects: sign in with a one-time code mailed to an address
already held (Art. 12(6)), then see what is held per category with its purposes, legal bases,
retention and recipients (Art. 15(1), Art. 13), and give or withdraw consent (Art. 7(3)). The
subject's rights (export, erasure, rectification, its requests) are in :mod:`privacy_requests`.
No URL, log line or title holds an identifier, and no page says whether an address is held: the
code is mailed in the background after the answer is sent, and the library does the same work for
a held and for an unknown address."""

from __future__ import annotations

import contextlib

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response
from starlette.background import BackgroundTask

from callvault import (
    CallvaultError,
    RateLimited,
    SignInCodes,
    give_consent,
    subject_overview,
    withdraw_consent,
)
from callvault.web import i18n
from callvault.web.mail import send_code
from callvault.web.pages import (
    forbidden,
    form,
    redirect,
    render,
    session_of,
    sessions_of,
    smtp_url,
    vault_of,
)
from callvault.web.sessions import Session

router = APIRouter(prefix="/privacy/{tenant}", include_in_schema=False)
TENANT = Path(pattern=r"^[a-z0-9][a-z0-9_.-]{0,63}$", max_length=64)


def _codes(request: Request) -> SignInCodes:
    codes: SignInCodes = request.app.state.web_codes
    return codes


def client_of(request: Request) -> str | None:
    """The client's address, for the per-client limits (kept only as a keyed hash)."""
    return request.client.host if request.client else None


def subject_session(request: Request, tenant: str) -> Session | None:
    """The signed-in subject's session for this tenant only; None for anyone else."""
    session = session_of(request)
    if (session is None or session.kind != "subject" or session.tenant_id != tenant
            or session.subject_id is None):  # fmt: skip
        return None
    return session


def limited(request: Request, tenant: str, session: Session | None) -> Response:
    """Too many codes asked for or entered from this client: 429, the same for every address."""
    return render(request, "privacy_limited.html", session, status=429, tenant=tenant)


def _mail(address: str, code: str, lang: str) -> None:
    subject_line, body = i18n.MAIL[lang]
    # A mail server that fails must not tell a held address from another: nothing is shown.
    with contextlib.suppress(OSError):
        send_code(smtp_url(), address, code, subject_line, body)


@router.get("/")
def sign_in_form(request: Request, tenant: str = TENANT) -> Response:
    session = session_of(request) or sessions_of(request).new()
    return render(request, "privacy_sign_in.html", session, tenant=tenant,
                  no_delivery=smtp_url() is None)  # fmt: skip


@router.post("/code")
async def ask_code(request: Request, tenant: str = TENANT) -> Response:
    session = session_of(request)
    fields = await form(request, session)
    if fields is None or session is None:
        return forbidden(request)
    if smtp_url() is None:
        # No code could reach anyone: issue none, and answer alike for every address.
        return render(request, "privacy_sign_in.html", session, status=503, tenant=tenant,
                      no_delivery=True)  # fmt: skip
    address = fields.get("address", "").strip()[:254]
    try:
        code = _codes(request).issue(tenant, address, client_of(request)) if address else None
    except RateLimited:
        return limited(request, tenant, session)
    # A fresh anonymous session holds the address: whoever was signed in here (a subject of this
    # or another tenant, an admin) is signed out, and nothing of theirs is carried over.
    sessions_of(request).drop(session)
    fresh = sessions_of(request).new(tenant_id=tenant, address=address)
    response = redirect(request, f"/privacy/{tenant}/code", fresh)
    if code is not None:  # sent after the answer: its time tells nothing
        response.background = BackgroundTask(_mail, address, code, i18n.language(request))
    return response


@router.get("/code")
def code_form(request: Request, tenant: str = TENANT) -> Response:
    session = session_of(request)
    if session is None or session.address is None or session.tenant_id != tenant:
        return redirect(request, f"/privacy/{tenant}/")
    return render(request, "privacy_code.html", session, tenant=tenant)


@router.post("/code/verify")
async def verify_code(request: Request, tenant: str = TENANT) -> Response:
    session = session_of(request)
    fields = await form(request, session)
    if fields is None or session is None:
        return forbidden(request)
    if session.address is None or session.tenant_id != tenant:
        return redirect(request, f"/privacy/{tenant}/", session)
    try:
        subject_id = _codes(request).redeem(tenant, session.address, fields.get("code", ""),
                                            client_of(request))  # fmt: skip
    except RateLimited:
        return limited(request, tenant, session)
    except CallvaultError:
        return render(request, "privacy_code.html", session, status=401, tenant=tenant, wrong=True)
    sessions_of(request).drop(session)
    fresh = sessions_of(request).new(kind="subject", tenant_id=tenant, subject_id=subject_id)
    return redirect(request, f"/privacy/{tenant}/me", fresh)


@router.get("/me")
def my_data(request: Request, tenant: str = TENANT) -> Response:
    session = subject_session(request, tenant)
    if session is None or session.subject_id is None:
        return redirect(request, f"/privacy/{tenant}/")
    overview = subject_overview(vault_of(request), tenant, session.subject_id)
    receipt, notice = session.receipt, session.notice
    if receipt or notice:  # shown once
        session.receipt = session.notice = None
        sessions_of(request).save(session)
    return render(request, "privacy_me.html", session, tenant=tenant, overview=overview,
                  receipt=receipt, notice=notice)  # fmt: skip


@router.post("/consent")
async def consent(request: Request, tenant: str = TENANT) -> Response:
    session = subject_session(request, tenant)
    fields = await form(request, session)
    if fields is None or session is None or session.subject_id is None:
        return forbidden(request)
    act = give_consent if fields.get("action") == "give" else withdraw_consent
    try:
        record = act(vault_of(request), tenant, session.subject_id, fields.get("purpose", ""),
                     actor=f"subject:{session.subject_id}", method="privacy_centre")  # fmt: skip
    except CallvaultError:
        return forbidden(request)  # a purpose this page never offered
    session.receipt = record.record_id  # shown once on the next page, never put in a URL
    sessions_of(request).save(session)
    return redirect(request, f"/privacy/{tenant}/me", session)


@router.post("/logout")
async def logout(request: Request, tenant: str = TENANT) -> Response:
    session = session_of(request)
    if await form(request, session) is None or session is None:
        return forbidden(request)
    sessions_of(request).drop(session)
    return redirect(request, f"/privacy/{tenant}/")
