"""What every admin console page shares: who is signed in (re-checked on every request by the
authenticator that signed the session in), the page render for that admin's tenant only, posted
forms with their CSRF check, and the not-found page that says nothing about what exists."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, Response

from callvault import CallvaultError, Principal, Vault, refuse_unknown
from callvault.web.admin_auth import Authenticator, authenticators
from callvault.web.pages import form, redirect, render, session_of, sessions_of, vault_of
from callvault.web.sessions import Session

Build = Callable[[Vault, Principal], dict[str, Any]]


def sign_ins(request: Request) -> dict[str, Authenticator]:
    """The configured sign-ins (read from the environment per request: a ConfigError surfaces)."""
    return authenticators()


def signed_in(request: Request) -> tuple[Session, Principal] | None:
    """The admin session and its principal, re-authenticated now; None (and the session ended)
    when the token was revoked, the proxy stopped vouching, or there is no admin session."""
    session = session_of(request)
    if session is None or session.tenant_id is None:
        return None
    method = sign_ins(request).get(session.kind)
    if method is None:
        return None
    try:
        who = method.recheck(vault_of(request), request.headers, session.tenant_id, session.token)
    except CallvaultError:
        sessions_of(request).drop(session)
        return None
    return session, who


def page(request: Request, template: str, build: Build, status: int = 200) -> Response:
    """An admin page of the signed-in admin's tenant; anyone else goes to the sign-in."""
    signed = signed_in(request)
    if signed is None:
        return redirect(request, "/admin/login")
    session, who = signed
    return render(request, template, session, status=status, **build(vault_of(request), who))


async def posted(request: Request) -> tuple[Session, Principal, dict[str, str]] | Response:
    """A form posted by a signed-in admin with the session's CSRF token, or the response to send
    instead: 403 without a valid CSRF token, the sign-in page without a live admin session."""
    session = session_of(request)
    fields = await form(request, session)
    signed = signed_in(request)
    if fields is None or session is None:
        return forbidden_page(request)
    if signed is None:
        return redirect(request, "/admin/login")
    return signed[0], signed[1], fields


def forbidden_page(request: Request) -> HTMLResponse:
    return render(request, "admin_error.html", session_of(request), status=403, code=403)


def not_found(request: Request, session: Session, who: Principal) -> HTMLResponse:
    """The same page for a request id of another tenant, an unknown one and a malformed one;
    audited in the admin's own tenant like the API's 404s, naming the route, never the id asked."""
    refuse_unknown(vault_of(request), who, f"{request.method} {request.url.path}")
    return render(request, "admin_error.html", session, status=404, code=404)
