"""``callvault stats``: anonymous call statistics (the customer_service purpose's only output)."""

from __future__ import annotations

import typer
from rich.table import Table

from callvault import parse_instant, statistics
from callvault.cli.common import ACTOR_HELP, console, open_vault, print_json


def stats(
    ctx: typer.Context,
    tenant: str = typer.Option(..., "--tenant"),
    start: str = typer.Option(
        None, "--from", help="First day (ISO 8601 date or instant; floored to a whole bucket)."
    ),
    end: str = typer.Option(
        None, "--to", help="Last day, inclusive (ISO 8601 date or instant; ceiled to a bucket)."
    ),
    by: str = typer.Option("day", "--by", help="Bucket: hour or day."),
    actor: str = typer.Option("operator", "--actor", help=f"Who asks: {ACTOR_HELP}."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Calls and rounded durations per bucket, direction and outcome.

    Built from hour cells: an hour cell with fewer than k of the tenant's users among its calls'
    parties (their callers do not count) is suppressed and enters no figure, a day is the sum of
    its hour cells that are shown, so no two figures differ by a suppressed cell.
    """
    result = statistics(
        open_vault(ctx),
        tenant,
        start=parse_instant(start, field="--from") if start else None,
        end=parse_instant(end, field="--to", end_of_day=True) if end else None,
        by=by,
        actor=actor,
    )
    if as_json:
        print_json(result)
        return
    table = Table("bucket", "direction", "outcome", "calls", "duration s", "billsec s")
    for cell in result["cells"]:
        table.add_row(
            cell["bucket"],
            cell["direction"],
            cell["outcome"],
            str(cell["calls"]),
            str(cell["duration_s"]),
            str(cell["billsec_s"]),
        )
    console.print(table)
    console.print(
        f"{result['suppressed_cells']} hour cells with fewer than {result['k']} people suppressed"
    )


def register(app: typer.Typer) -> None:
    app.command("stats")(stats)
