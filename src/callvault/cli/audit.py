"""``callvault audit``: verify the hash chains and list entries."""

from __future__ import annotations

import typer
from rich.table import Table

from callvault import IntegrityError, audit_entries, verify_audit
from callvault.cli.common import console, open_vault, print_json

app = typer.Typer(help="The tamper-evident audit log.")


@app.command("verify")
def verify(
    ctx: typer.Context,
    tenant: str = typer.Option(None, "--tenant", help="Verify one tenant's chain only."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Recompute the hash chains; exit 6 naming the first bad entry."""
    report = verify_audit(open_vault(ctx), tenant)
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
