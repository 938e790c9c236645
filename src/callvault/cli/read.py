"""``callvault read``: a purpose-bound read of one subject (JSON of what the purpose may see)."""

from __future__ import annotations

import typer

from callvault import read_subject
from callvault.cli.common import open_vault, print_json


def read(
    ctx: typer.Context,
    tenant: str = typer.Option(..., "--tenant", help="The tenant (controller) of the subject."),
    subject: str = typer.Option(..., "--subject", help="Subject id, e-mail or phone number."),
    purpose: str = typer.Option(..., "--purpose", help="Why: a purpose of the policy."),
    actor: str = typer.Option(
        ...,
        "--actor",
        help="Who asks: a role such as service:crm; in a support session support:<engineer>.",
    ),
    ticket: str = typer.Option(None, "--ticket", help="Support ticket of an open support session."),
    session: str = typer.Option(
        None, "--session", help="Support session id (instead of --ticket)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON (the output is always JSON)."),
) -> None:
    """Read what PURPOSE may see of a subject; exit 3 with the reason when the gate denies."""
    data = read_subject(
        open_vault(ctx), tenant, subject, purpose, actor, ticket=ticket, session=session
    )
    print_json(data)


def register(app: typer.Typer) -> None:
    app.command("read")(read)
