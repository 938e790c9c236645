"""What every page shares: the Jinja2 environment (autoescaped), the language, the session and its
CSRF check, form bodies, and the security headers (a strict Content-Security-Policy: no script, no
inline style, nothing from elsewhere)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape

from callvault import Vault
from callvault.web import i18n
from callvault.web.sessions import COOKIE, Session, Sessions

HERE = Path(__file__).parent
CSP = ("default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
       "frame-ancestors 'none'; base-uri 'none'")  # fmt: skip
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
}
FORM_LIMIT = 8 * 1024

env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape())


def vault_of(request: Request) -> Vault:
    vault: Vault = request.app.state.vault
    return vault


def sessions_of(request: Request) -> Sessions:
    sessions: Sessions = request.app.state.web_sessions
    return sessions


def session_of(request: Request) -> Session | None:
    return sessions_of(request).get(request.cookies.get(COOKIE))


def render(request: Request, name: str, session: Session | None, status: int = 200,
           **values: Any) -> HTMLResponse:  # fmt: skip
    lang = i18n.language(request)
    html = env.get_template(name).render(t=i18n.WORDS[lang], lang=lang, session=session,
                                         path=request.url.path, **values)  # fmt: skip
    response = HTMLResponse(html, status_code=status, headers=HEADERS)
    if request.query_params.get("lang") == lang:
        response.set_cookie(i18n.COOKIE, lang, max_age=365 * 86400, path="/", secure=True,
                            httponly=True, samesite="strict")  # fmt: skip
    if session is not None:
        sessions_of(request).cookie(response, session)
    return response


def redirect(request: Request, to: str, session: Session | None = None) -> Response:
    response = RedirectResponse(to, status_code=303, headers=HEADERS)
    if session is not None:
        sessions_of(request).cookie(response, session)
    return response


async def form(request: Request, session: Session | None) -> dict[str, str] | None:
    """The posted form, or None when its CSRF token is not the session's (or it is too big)."""
    body = await request.body()
    if len(body) > FORM_LIMIT:
        return None
    fields = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
    if session is None or not session.csrf_ok(fields.get("csrf")):
        return None
    return fields


def forbidden(request: Request) -> HTMLResponse:
    lang = i18n.language(request)
    return HTMLResponse("<!doctype html><html lang=\"" + lang + "\"><head><title>403</title></head>"
                        "<body><main><h1>403</h1></main></body></html>", status_code=403,
                        headers=HEADERS)  # fmt: skip


def smtp_url() -> str | None:
    return os.environ.get("CALLVAULT_SMTP_URL") or None
