"""``callvault disclose``: export a subject's data to the subject or its controller, never elsewhere."""

from __future__ import annotations

import typer

from callvault import disclose as disclose_subject
from callvault.cli.common import ACTOR_HELP, console, open_vault, print_json


def disclose(
    ctx: typer.Context,
    tenant: str = typer.Option(..., "--tenant"),
    subject: str = typer.Option(..., "--subject", help="Subject id, e-mail or phone number."),
    recipient: str = typer.Option(
        ...,
        "--to",
        help="subject (for --actor subject:<id> of that subject) or controller (for "
        "--actor tenant-admin:<name>); nobody else.",
    ),
    out: str = typer.Option(..., "--out", help="The new JSON file to write (mode 0600)."),
    actor: str = typer.Option("operator", "--actor", help=f"Who asks: {ACTOR_HELP}."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Write the subject's data to FILE for an allowed recipient bound to the actor; exit 3 for any
    third party or a recipient the actor may not receive for (audited)."""
    result = disclose_subject(open_vault(ctx), tenant, subject, recipient, out, actor=actor)
    if as_json:
        print_json(result)
    else:
        console.print(
            f"exported subject {result['subject']} for {recipient} to {result['out']} "
            f"({result['calls']} calls, {result['voicemails']} voicemails)"
        )


def register(app: typer.Typer) -> None:
    app.command("disclose")(disclose)
