"""``callvault support``: time-boxed support sessions for error diagnosis."""

from __future__ import annotations

import typer

from callvault import close_session, open_session
from callvault.cli.common import console, open_vault, print_json

app = typer.Typer(help="Support sessions: error diagnosis under the service and support agreement.")


@app.command("open")
def open_(
    ctx: typer.Context,
    tenant: str = typer.Option(..., "--tenant"),
    ticket: str = typer.Option(..., "--ticket", help="The support ticket the session serves."),
    engineer: str = typer.Option(
        ...,
        "--engineer",
        help="The support engineer (eng-joe); reads in the session use --actor support:eng-joe.",
    ),
    hours: float = typer.Option(..., "--hours", help="How long the session lasts (max 168)."),
    approved_by: str = typer.Option(
        ...,
        "--approved-by",
        help="The tenant admin who instructs the session (tenant-admin:<name>); anyone else: exit 3.",
    ),
    subjects: list[str] = typer.Option(
        ...,
        "--subject",
        help="A subject of the ticket (id, e-mail or phone number); repeat for several. Reads of "
        "any other subject in the session exit 3.",
    ),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Open a session on a tenant admin's instruction for the subjects of one ticket (exit 3 unless
    approved by tenant-admin:<name> and the tenant's agreement is in force); prints its id."""
    session = open_session(
        open_vault(ctx),
        tenant,
        ticket=ticket,
        engineer=engineer,
        hours=hours,
        approved_by=approved_by,
        subjects=subjects,
    )
    if as_json:
        print_json(session.as_dict())
    else:
        typer.echo(session.session_id)


@app.command("close")
def close(
    ctx: typer.Context,
    tenant: str = typer.Option(..., "--tenant"),
    session: str = typer.Option(..., "--session", help="The session id printed by `support open`."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Close a session and destroy its pseudonym key."""
    closed = close_session(open_vault(ctx), tenant, session)
    if as_json:
        print_json(closed.as_dict())
    else:
        console.print(f"support session {closed.session_id} closed; its pseudonym key is destroyed")
