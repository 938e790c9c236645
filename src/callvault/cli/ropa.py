"""``callvault ropa``: the records of processing activities (GDPR Art. 30)."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from callvault import UsageError, records_as_jsonld, records_as_markdown, records_of_processing
from callvault.cli.common import open_vault, print_json

FORMATS = ("json", "md", "jsonld")


def ropa_command(
    ctx: typer.Context,
    tenant: str = typer.Option(None, "--tenant", help="Only this tenant's Art. 30(2) record."),
    fmt: str = typer.Option("json", "--format", help="json, md or jsonld (W3C DPV)."),
    out: Path = typer.Option(None, "--out", help="Write to this file instead of stdout."),
) -> None:
    """Art. 30(1) for the operator and Art. 30(2) per tenant, with live figures."""
    if fmt not in FORMATS:
        raise UsageError(f"--format must be one of {', '.join(FORMATS)}")
    data = records_of_processing(open_vault(ctx), tenant)
    if fmt == "md":
        text = records_as_markdown(data)
        if out:
            out.write_text(text, encoding="utf-8")
        else:
            typer.echo(text)
        return
    document = records_as_jsonld(data) if fmt == "jsonld" else data
    if out:
        out.write_text(json.dumps(document, indent=2, ensure_ascii=False), encoding="utf-8")
    else:
        print_json(document)


def register(app: typer.Typer) -> None:
    app.command("ropa")(ropa_command)
