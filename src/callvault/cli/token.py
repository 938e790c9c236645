"""``callvault token``: bearer tokens for the HTTP API, printed once and stored only as hashes."""

from __future__ import annotations

import typer

from callvault import TOKEN_ROLES, create_token, revoke_token
from callvault.cli.common import console, open_vault, print_json

app = typer.Typer(help="API bearer tokens: one tenant, one role; printed once, stored as a hash.")


@app.command("create")
def create(
    ctx: typer.Context,
    tenant: str = typer.Option(
        None, "--tenant", help="The tenant the token acts in (omit for operator_admin)."
    ),
    role: str = typer.Option(..., "--role", help=f"One of: {', '.join(TOKEN_ROLES)}."),
    name: str = typer.Option(
        None, "--name", help="Short name for the actor in the audit log (tenant-admin:<name>, ...)."
    ),
    purposes: list[str] = typer.Option(
        None, "--purpose", help="For a service: a purpose it may read for; repeat for several."
    ),
    subject: str = typer.Option(
        None, "--subject", help="For a subject token: the subject (id, e-mail or phone number)."
    ),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Make a bearer token and print it once (only its hash is kept); the token's id revokes it."""
    token, principal = create_token(
        open_vault(ctx), tenant, role, name=name, purposes=purposes or [], subject=subject
    )
    if as_json:
        print_json({"token": token, "token_id": principal.token_id, "actor": principal.actor,
                    "tenant": principal.tenant_id, "role": principal.role,
                    "purposes": list(principal.purposes)})  # fmt: skip
        return
    typer.echo(token)
    typer.echo(f"token id {principal.token_id} for {principal.actor}", err=True)


@app.command("revoke")
def revoke(
    ctx: typer.Context,
    token_id: str = typer.Argument(..., help="The token id printed by `token create`."),
) -> None:
    """Revoke a token: its next request is refused (401)."""
    principal = revoke_token(open_vault(ctx), token_id)
    console.print(f"token {principal.token_id} ({principal.actor}) revoked")


def register(app_: typer.Typer) -> None:
    app_.add_typer(app, name="token")
