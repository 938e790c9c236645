"""``callvault retention``: run the retention rules and show what is overdue."""

from __future__ import annotations

import typer
from rich.table import Table

from callvault import (
    RETENTION_KINDS,
    IntegrityError,
    RetentionReport,
    RetentionStatus,
    parse_instant,
    retention_status,
    run_retention,
)
from callvault.cli.common import console, open_vault, print_json

app = typer.Typer(help="Storage limitation: anonymise and delete records whose period has ended.")


@app.command("run")
def run(
    ctx: typer.Context,
    as_of: str = typer.Option(
        None, "--as-of", help="Apply the rules as of this date (default now)."
    ),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Count what would change; change nothing."
    ),
    tenant: str = typer.Option(None, "--tenant", help="One tenant only."),
    batch_size: int | None = typer.Option(
        None,
        "--batch-size",
        min=1,
        help="Records per transaction (default 250,000; voicemails at most 2,000).",
    ),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Anonymise expired call records, delete expired voicemail, profiles and billing records."""
    vault = open_vault(ctx)
    moment = parse_instant(as_of, field="--as-of") if as_of else None
    report = run_retention(
        vault, as_of=moment, dry_run=dry_run, tenant=tenant, batch_size=batch_size
    )
    if as_json:
        print_json(report.as_dict())
    else:
        _print_report(report)


def _print_report(report: RetentionReport) -> None:
    title = "retention dry run (nothing changed)" if report.dry_run else "retention run"
    table = Table(
        "tenant", "kind", "rule", "counts", title=f"{title} as of {report.as_of:%Y-%m-%d}"
    )
    for tenant, kinds in report.counts.items():
        for kind in RETENTION_KINDS:
            rule = report.rules[tenant][kind]
            counts = ", ".join(f"{k} {v}" for k, v in kinds.get(kind, {}).items())
            table.add_row(tenant, kind, f"{rule['period']} then {rule['then']}", counts)
    console.print(table)
    console.print(f"{report.duration_s:.2f} s")


@app.command("status")
def status(
    ctx: typer.Context,
    at: str = typer.Option(
        None, "--at", help="Judge overdue records as of this date (default now)."
    ),
    tenant: str = typer.Option(None, "--tenant", help="One tenant only."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Per tenant and kind: the rule, the last run, the overdue records. Exit 6 when not all well."""
    vault = open_vault(ctx)
    moment = parse_instant(at, field="--at") if at else None
    result = retention_status(vault, at=moment, tenant=tenant)
    if as_json:
        print_json(result.as_dict())
    else:
        _print_status(result)
    if result.overdue:
        raise IntegrityError(f"{result.overdue} records are past their retention period and held")
    if not result.ok:
        raise IntegrityError("the last retention run did not finish (failed, killed or running)")


def _print_status(result: RetentionStatus) -> None:
    table = Table("tenant", "kind", "rule", "last run", "overdue")
    for item in result.tenants:
        run = item.last_run
        last = (
            "never" if run is None else f"{run['started_at'][:16].replace('T', ' ')} {run['state']}"
        )
        if run is not None and run["state"] != "done":
            last = f"[bold red]{last}[/]"
        for kind in RETENTION_KINDS:
            rule = item.rules[kind]
            overdue = item.overdue[kind]
            shown = f"[bold red]{overdue}[/]" if overdue else "0"
            table.add_row(
                item.tenant_id, kind, f"{rule['period']} then {rule['then']}", last, shown
            )
    console.print(table)
