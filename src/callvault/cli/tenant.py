"""``callvault tenant``: register customer companies and show their profiles."""

from __future__ import annotations

import typer
from rich.table import Table

from callvault import UsageError, add_tenant, describe_tenant, parse_instant
from callvault.cli.common import console, open_vault, print_json

app = typer.Typer(
    help="Tenants (customer companies, the controllers) and their collection profiles."
)


def _retention_pairs(items: list[str]) -> dict[str, str]:
    pairs = {}
    for item in items:
        kind, sep, period = item.partition("=")
        if not sep or not kind or not period:
            raise UsageError(f"--retention takes KIND=PERIOD (e.g. call_record=P30D), not {item!r}")
        pairs[kind.strip()] = period.strip()
    return pairs


@app.command("add")
def add(
    ctx: typer.Context,
    tenant_id: str = typer.Argument(..., metavar="ID", help="Tenant id: a-z, 0-9, '_', '.', '-'."),
    name: str = typer.Option(..., "--name", help="The company's name."),
    collect: str = typer.Option(
        ...,
        "--collect",
        help="Comma-separated categories to collect (keys such as user.contact.phone_number, "
        "or name,email,phone,department,call_history,voicemail).",
    ),
    agreement: str = typer.Option(None, "--agreement", help="Service and support agreement id."),
    valid_from: str = typer.Option(None, "--from", help="Agreement start (ISO 8601 date)."),
    valid_to: str = typer.Option(None, "--to", help="Agreement end (ISO 8601 date, exclusive)."),
    retention: list[str] = typer.Option(
        [], "--retention", help="KIND=PERIOD, e.g. call_record=P30D; may only shorten the policy."
    ),
    country: str = typer.Option(
        None,
        "--country",
        help="ISO 3166-1 alpha-2 country its national numbers are dialled in "
        "(default: the operator's, from the policy).",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the tenant as JSON."),
) -> None:
    """Register a tenant and its collection profile."""
    vault = open_vault(ctx)
    add_tenant(
        vault,
        tenant_id,
        name=name,
        collect=collect.split(","),
        agreement_id=agreement,
        agreement_from=parse_instant(valid_from, field="--from") if valid_from else None,
        agreement_to=parse_instant(valid_to, field="--to") if valid_to else None,
        retention=_retention_pairs(retention),
        country=country,
    )
    shown = describe_tenant(vault, tenant_id)
    if as_json:
        print_json(shown)
    else:
        console.print(f"tenant [bold]{tenant_id}[/] added: collects {', '.join(shown['collect'])}")


@app.command("show")
def show(
    ctx: typer.Context,
    tenant_id: str = typer.Argument(..., metavar="ID"),
    as_json: bool = typer.Option(False, "--json", help="Print as JSON."),
) -> None:
    """Show a tenant's profile, agreement, retention and the records held."""
    shown = describe_tenant(open_vault(ctx), tenant_id)
    if as_json:
        print_json(shown)
        return
    table = Table(title=f"tenant {shown['id']}: {shown['name']}", show_header=False)
    table.add_row("collects", "\n".join(shown["collect"]))
    table.add_row("country", shown["country"])
    agreement = shown["agreement"]
    table.add_row(
        "agreement",
        f"{agreement['id']} from {agreement['from']} to {agreement['to'] or 'open'}"
        if agreement
        else "none (error diagnosis is not possible)",
    )
    table.add_row("retention", "\n".join(f"{k}: {v}" for k, v in shown["retention"].items()))
    table.add_row("records held", "\n".join(f"{k}: {v}" for k, v in shown["counts"].items()))
    console.print(table)
