"""``callvault audit``: verify the hash chains and list entries."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from callvault import (
    IntegrityError,
    InvalidInput,
    audit_entries,
    make_checkpoint,
    verify_audit,
)
from callvault.cli.common import console, open_vault, print_json

app = typer.Typer(help="The tamper-evident audit log.")


@app.command("verify")
def verify(
    ctx: typer.Context,
    tenant: str = typer.Option(None, "--tenant", help="Verify one tenant's chain only."),
    checkpoint: Path = typer.Option(
        None, "--checkpoint", help="Also check a signed checkpoint (audit checkpoint --out)."
    ),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Recompute the HMAC chains (and check a checkpoint); exit 6 naming the first bad entry."""
    document = _read_checkpoint(checkpoint) if checkpoint else None
    report = verify_audit(open_vault(ctx), tenant, checkpoint=document)
    if as_json:
        print_json(
            {
                "ok": report.ok,
                "checked": report.checked,
                "chains": report.chains,
                "problem": str(report.problem) if report.problem else None,
            }
        )
    if not report.ok:
        raise IntegrityError(f"audit log tampered: {report.problem}")
    if not as_json:
        console.print(f"audit log intact: {report.checked} entries in {report.chains} chains")


def _read_checkpoint(path: Path) -> dict[str, Any]:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InvalidInput("not a readable JSON checkpoint", pointer="--checkpoint") from exc
    if not isinstance(document, dict):
        raise InvalidInput("not a checkpoint document", pointer="--checkpoint")
    return document


@app.command("checkpoint")
def checkpoint(
    ctx: typer.Context,
    out: Path = typer.Option(..., "--out", help="A new file for the signed checkpoint."),
) -> None:
    """Write every chain's head, signed with the vault's Ed25519 key; keep it off this machine."""
    document = make_checkpoint(open_vault(ctx))
    try:
        with out.open("x", encoding="utf-8") as handle:
            json.dump(document, handle, indent=2, sort_keys=True)
    except OSError as exc:
        raise InvalidInput("--out must be a new file", pointer="--out") from exc
    console.print(f"checkpoint of {len(document['heads'])} chains written to {out}")
    console.print(f"verification key (Ed25519, base64): {document['public_key']}")


@app.command("log")
def log(
    ctx: typer.Context,
    tenant: str = typer.Option(None, "--tenant"),
    action: str = typer.Option(None, "--action", help="Only entries of this action."),
    limit: int = typer.Option(50, "--limit", min=1),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """List audit entries, newest first (surrogate ids only, never identifiers)."""
    rows = audit_entries(open_vault(ctx), tenant, limit=limit, action=action)
    if as_json:
        print_json(rows)
        return
    table = Table("tenant", "seq", "at", "actor", "action", "purpose", "outcome", "reason")
    for row in rows:
        table.add_row(
            row["tenant_id"],
            str(row["seq"]),
            row["at"].isoformat(timespec="seconds"),
            row["actor"],
            row["action"],
            row["purpose"] or "",
            row["outcome"],
            row["reason"] or "",
        )
    console.print(table)
