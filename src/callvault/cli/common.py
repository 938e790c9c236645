"""What every command shares: the app, the global options, opening the vault, printing output."""

from __future__ import annotations

import json
from typing import Any

import typer
from rich.console import Console

from callvault import Vault

app = typer.Typer(
    name="callvault",
    help="callvault: a privacy engine for business telephony (policy as code, purpose-bound reads).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

console = Console(stderr=False)

ACTOR_HELP = "a role such as operator, support:eng-joe, service:crm or tenant-admin:hr"
errors = Console(stderr=True)


@app.callback()
def _global(
    ctx: typer.Context,
    db: str = typer.Option(
        None, "--db", envvar="CALLVAULT_DB", help="Database URL (default sqlite:///callvault.db)."
    ),
) -> None:
    ctx.obj = {"db": db}


def open_vault(ctx: typer.Context, *, create: bool = False) -> Vault:
    root = ctx.find_root()
    db = root.obj.get("db") if root.obj else None
    return Vault.open(db, create=create)


def print_json(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, sort_keys=True, default=str, ensure_ascii=False))
