"""The privacy centre for a data subject of one tenant: sign in with a one-time code e-mailed to an
address already held (Art. 12(6)), then see what is held per category with its purposes, legal
bases, recipients and retention (Art. 15(1)), and give or withdraw consent per consent purpose
(Art. 7(3): as easy to withdraw as to give). The subject is the session's, never a field of a form;
no page, URL or title holds an identifier, and no page says whether an address is held."""

from __future__ import annotations

import contextlib

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response

from callvault import (
    CallvaultError,
    SignInCodes,
    Vault,
    give_consent,
    subject_overview,
    withdraw_consent,
)
from callvault.web import i18n
from callvault.web.mail import send_code
from callvault.web.pages import forbidden, form, redirect, render, session_of, sessions_of, smtp_url
from callvault.web.sessions import Session

router = APIRouter(prefix="/privacy/{tenant}", include_in_schema=False)
TENANT = Path(pattern=r"^[a-z0-9][a-z0-9_.-]{0,63}$", max_length=64)


def _vault(request: Request) -> Vault:
    vault: Vault = request.app.state.vault
    return vault


def _codes(request: Request) -> SignInCodes:
    codes: SignInCodes = request.app.state.web_codes
    return codes


def _subject(request: Request, tenant: str) -> Session | None:
    session = session_of(request)
    if session is None or session.kind != "subject" or session.tenant_id != tenant:
        return None
    return session


@router.get("/")
def sign_in_form(request: Request, tenant: str = TENANT) -> Response:
    session = session_of(request) or sessions_of(request).new()
    return render(request, "privacy_sign_in.html", session, tenant=tenant)


@router.post("/code")
async def ask_code(request: Request, tenant: str = TENANT) -> Response:
    session = session_of(request)
    fields = await form(request, session)
    if fields is None or session is None:
        return forbidden(request)
    address = fields.get("address", "").strip()[:254]
    code = _codes(request).issue(tenant, address) if address else None
    if code is not None:
        subject_line, body = i18n.MAIL[i18n.language(request)]
        # A mail server that fails must not tell a held address from another: no error page.
        with contextlib.suppress(OSError):
            send_code(smtp_url(), address, code, subject_line, body)
    session.tenant_id, session.address = tenant, address
    return redirect(request, f"/privacy/{tenant}/code", session)


@router.get("/code")
def code_form(request: Request, tenant: str = TENANT) -> Response:
    session = session_of(request)
    if session is None or session.address is None:
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
        subject_id = _codes(request).redeem(tenant, session.address, fields.get("code", ""))
    except CallvaultError:
        return render(request, "privacy_code.html", session, status=401, tenant=tenant, wrong=True)
    sessions_of(request).drop(session)
    fresh = sessions_of(request).new(kind="subject", tenant_id=tenant, subject_id=subject_id)
    return redirect(request, f"/privacy/{tenant}/me", fresh)


@router.get("/me")
def my_data(request: Request, tenant: str = TENANT) -> Response:
    session = _subject(request, tenant)
    if session is None or session.subject_id is None:
        return redirect(request, f"/privacy/{tenant}/")
    overview = subject_overview(_vault(request), tenant, session.subject_id)
    receipt, session.receipt = session.receipt, None
    return render(request, "privacy_me.html", session, tenant=tenant, overview=overview,
                  receipt=receipt)  # fmt: skip


@router.post("/consent")
async def consent(request: Request, tenant: str = TENANT) -> Response:
    session = _subject(request, tenant)
    fields = await form(request, session)
    if fields is None or session is None or session.subject_id is None:
        return forbidden(request)
    act = give_consent if fields.get("action") == "give" else withdraw_consent
    record = act(_vault(request), tenant, session.subject_id, fields.get("purpose", ""),
                 actor=f"subject:{session.subject_id}", method="privacy_centre")  # fmt: skip
    session.receipt = record.record_id  # shown once on the next page, never put in a URL
    return redirect(request, f"/privacy/{tenant}/me", session)


@router.post("/logout")
async def logout(request: Request, tenant: str = TENANT) -> Response:
    session = session_of(request)
    if await form(request, session) is None or session is None:
        return forbidden(request)
    sessions_of(request).drop(session)
    return redirect(request, f"/privacy/{tenant}/")
