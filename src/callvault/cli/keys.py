"""``callvault keys``: master key rotation."""

from __future__ import annotations

import os

import typer

from callvault import UsageError, rotate_master_key
from callvault.cli.common import console, open_vault, print_json

app = typer.Typer(help="The key hierarchy: master key rotation.")


@app.command("rotate")
def rotate(
    ctx: typer.Context,
    new_key_env: str = typer.Option(
        None,
        "--new-key-env",
        help="Name of an environment variable holding the new master key (when the current one "
        "comes from CALLVAULT_MASTER_KEY). Never pass keys as arguments: they end up in logs.",
    ),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Re-wrap every data key under a new master key; data is not touched."""
    new_key_text = None
    if new_key_env:
        new_key_text = os.environ.get(new_key_env)
        if not new_key_text:
            raise UsageError(f"environment variable {new_key_env} is not set")
    counts = rotate_master_key(open_vault(ctx), new_key_text=new_key_text)
    if as_json:
        print_json(counts)
    else:
        console.print(
            f"re-wrapped {counts['tenant_keys']} tenant keys and {counts['data_keys']} data keys"
        )
