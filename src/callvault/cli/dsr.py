"""``callvault dsr``: data subject requests (restriction and objection here; others alongside)."""

from __future__ import annotations

import typer

from callvault import object_to, restrict
from callvault.cli.common import ACTOR_HELP, console, open_vault, print_json

app = typer.Typer(help="Data subject requests: restriction (Art. 18) and objection (Art. 21).")


@app.command("restrict")
def restrict_(
    ctx: typer.Context,
    tenant: str = typer.Option(..., "--tenant"),
    subject: str = typer.Option(..., "--subject", help="Subject id, e-mail or phone number."),
    lift: bool = typer.Option(False, "--lift", help="End the restriction."),
    actor: str = typer.Option("operator", "--actor", help=f"Who asks: {ACTOR_HELP}."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Restrict processing of a subject's data (GDPR Art. 18): no purpose may read it."""
    change = restrict(open_vault(ctx), tenant, subject, actor=actor, lift=lift)
    if as_json:
        print_json({"subject": change.subject_id, "state": change.state, "changed": change.changed})
    else:
        console.print(f"subject {change.subject_id}: {change.state}")


@app.command("object")
def object_(
    ctx: typer.Context,
    tenant: str = typer.Option(..., "--tenant"),
    subject: str = typer.Option(..., "--subject", help="Subject id, e-mail or phone number."),
    purpose: str = typer.Option(..., "--purpose", help="A purpose based on legitimate interest."),
    withdraw: bool = typer.Option(False, "--withdraw", help="Withdraw the objection."),
    actor: str = typer.Option("operator", "--actor", help=f"Who asks: {ACTOR_HELP}."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Record the subject's objection to a purpose (GDPR Art. 21)."""
    change = object_to(open_vault(ctx), tenant, subject, purpose, actor=actor, withdraw=withdraw)
    if as_json:
        print_json(
            {
                "subject": change.subject_id,
                "purpose": purpose,
                "state": change.state,
                "changed": change.changed,
            }
        )
    else:
        console.print(f"subject {change.subject_id}: {change.state} to {purpose}")
