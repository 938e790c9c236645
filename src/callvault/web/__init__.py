"""The web pages, an adapter like the API and mounted on the same app by :func:`mount`: the admin
console (``/admin/``) for a tenant's administrator and the privacy centre (``/privacy/<tenant>/``)
for its data subjects. Server-rendered (Jinja2), no script, English and Danish."""

from __future__ import annotations

from typing import Any

from fastapi.responses import Response

from callvault import SignInCodes
from callvault.web import admin, privacy, privacy_requests
from callvault.web.pages import HEADERS, HERE
from callvault.web.sessions import Sessions

__all__ = ["mount"]

STYLE = (HERE / "static" / "site.css").read_bytes()


def mount(app: Any) -> None:
    """Add the admin console, the privacy centre and their style sheet to ``app``."""
    app.state.web_sessions = Sessions(app.state.vault)
    app.state.web_codes = SignInCodes(app.state.vault)
    app.include_router(admin.router)
    app.include_router(privacy.router)
    app.include_router(privacy_requests.router)

    @app.get("/static/site.css", include_in_schema=False)
    def style() -> Response:
        return Response(STYLE, media_type="text/css", headers=HEADERS)
