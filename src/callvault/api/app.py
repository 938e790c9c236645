"""The ASGI application: the API under ``/api/v1``, the probes, and (issue 15) the web pages mounted
from :mod:`callvault.web` on the same app. Errors are mapped once (:mod:`callvault.api.problems`)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from fastapi import FastAPI

from callvault import Vault, __version__
from callvault.api import problems
from callvault.api.limits import JSON_LIMIT, UPLOAD_LIMIT, BodyLimit
from callvault.api.notifier import Notifier
from callvault.api.routes import (
    consent,
    health,
    ingest,
    opendsr,
    operator,
    requests,
    subjects,
    support,
    tenants,
)
from callvault.api.schedule import Scheduler

DESCRIPTION = """callvault's HTTP API. Every route takes a bearer token made by
`callvault token create`; the actor recorded in the audit log is the token's. Errors are RFC 9457
problem documents (`application/problem+json`). A token of one tenant learns nothing of another:
its answers are those for an unknown tenant or subject."""


def create_app(
    vault: Vault,
    *,
    schedule_every: timedelta | None = None,
    upload_limit: int = UPLOAD_LIMIT,
    json_limit: int = JSON_LIMIT,
    notify_every: float | None = None,
    domain: str = "localhost",
) -> FastAPI:
    """The app serving ``vault``; with ``schedule_every``, retention and consent expiry run on that
    schedule while it serves; with ``notify_every`` (seconds), OpenDSR status callbacks (signed,
    for ``domain``) are sent as soon as a request's status changes in this process, and changes
    made elsewhere are looked for that often."""
    notifier = Notifier(vault, domain=domain, every=notify_every or 5.0)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        scheduler = Scheduler(vault, schedule_every) if schedule_every else None
        if scheduler:
            scheduler.start()
        if notify_every:
            notifier.start()
        try:
            yield
        finally:
            if scheduler:
                scheduler.stop()
            if notify_every:
                notifier.stop()

    app = FastAPI(title="callvault", version=__version__, description=DESCRIPTION,
                  lifespan=lifespan)  # fmt: skip
    app.state.vault = vault
    app.state.upload_limit = upload_limit
    app.state.notifier = notifier
    app.state.domain = domain
    problems.install(app)
    app.add_middleware(BodyLimit, json_limit=json_limit)
    for module in (health, operator, tenants, subjects, consent, support, requests, ingest,
                   opendsr):  # fmt: skip
        app.include_router(module.router)
    from callvault.web import mount  # the web pages (issue 15) plug in here

    mount(app)
    return app
