"""``callvault init``: create or migrate the vault."""

from __future__ import annotations

import typer

from callvault.cli.common import console, open_vault


def init(ctx: typer.Context) -> None:
    """Create or migrate the vault and create the key file (unless CALLVAULT_MASTER_KEY is set)."""
    vault = open_vault(ctx, create=True)
    url = vault.engine.url.render_as_string(hide_password=True)
    console.print(f"vault ready at {url}; master key from {vault.keyring.master.source}")


def register(app: typer.Typer) -> None:
    app.command("init")(init)
