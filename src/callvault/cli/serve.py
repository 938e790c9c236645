"""``callvault serve``: the HTTP API (and, later, the web pages) with scheduled retention."""

from __future__ import annotations

import os
from datetime import timedelta

import isodate
import typer

from callvault import InvalidInput
from callvault.api import create_app
from callvault.cli.common import open_vault


def _every(text: str) -> timedelta | None:
    if text.lower() == "off":
        return None
    try:
        period = isodate.parse_duration(text)
    except (isodate.ISO8601Error, ValueError) as exc:
        raise InvalidInput("--schedule must be an ISO 8601 duration such as P1D, or off") from exc
    if not isinstance(period, timedelta) or period <= timedelta(0):
        raise InvalidInput("--schedule must be a positive duration in days, hours or minutes")
    return period


def _mail_warning() -> str | None:
    """The warning for a server whose privacy centre cannot deliver sign-in codes, or None."""
    url = os.environ.get("CALLVAULT_SMTP_URL", "")
    if not url:
        return ("warning: CALLVAULT_SMTP_URL is not set: the privacy centre cannot deliver "
                "sign-in codes, so subjects cannot sign in")  # fmt: skip
    if url == "console":
        return ("warning: CALLVAULT_SMTP_URL=console prints sign-in codes on this console: "
                "for the demo only")  # fmt: skip
    return None


def serve(
    ctx: typer.Context,
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to listen on."),
    port: int = typer.Option(8000, "--port", help="TCP port."),
    schedule: str = typer.Option(
        "P1D",
        "--schedule",
        envvar="CALLVAULT_SCHEDULE",
        help="How often retention and consent expiry run while serving (ISO 8601 duration), or "
        "off. A lock keeps two servers from running them twice.",
    ),
    upload_mb: int = typer.Option(512, "--upload-limit", help="Largest upload, in MiB."),
    domain: str = typer.Option(
        "localhost",
        "--domain",
        help="The processor's OpenDSR domain: X-OpenDSR-Processor-Domain, and the SAN of the "
        "self-signed certificate used until `callvault opendsr install` installs a CA's.",
    ),
) -> None:
    """Serve the API under /api/v1 (OpenAPI at /openapi.json, docs at /docs), OpenDSR under
    /opendsr/v1 (status callbacks sent as soon as a request changes; changes made by other
    processes are looked for every 5 seconds), /healthz and /readyz, and run retention and consent
    expiry on a schedule."""
    import uvicorn

    every = _every(schedule)
    warning = _mail_warning()
    if warning:
        typer.echo(warning, err=True)
    app = create_app(open_vault(ctx), schedule_every=every, upload_limit=upload_mb * 1024 * 1024,
                     notify_every=5.0, domain=domain)  # fmt: skip
    uvicorn.run(app, host=host, port=port, log_level="info")


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
