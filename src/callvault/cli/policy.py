"""``callvault policy``: the operator's policy as code."""

from __future__ import annotations

import typer
from rich.table import Table

from ..policy import CompiledPolicy
from ..vault import configured_policy
from .common import console, print_json

app = typer.Typer(help="The privacy policy as code: summary, lint, rendered notice.")


@app.command("summary")
def summary(as_json: bool = typer.Option(False, "--json")) -> None:
    """Summarise the policy in force: purposes, legal bases, categories, recipients, retention."""
    compiled = CompiledPolicy.compile(configured_policy())
    policy = compiled.policy
    if as_json:
        print_json(policy.model_dump(mode="json"))
        return
    console.print(f"[bold]{policy.operator.name}[/] policy version {policy.version}")
    purposes = Table("purpose", "legal basis", "categories", "access")
    for name, purpose in compiled.purposes.items():
        purposes.add_row(
            name, purpose.legal_basis, "\n".join(sorted(purpose.categories)), purpose.access
        )
    console.print(purposes)
    console.print("recipients: " + ", ".join(policy.recipients) + " (no third parties)")
    retention = Table("kind of record", "identifiable for", "then", "basis")
    for kind, rule in policy.retention.items():
        retention.add_row(kind, str(rule.period), rule.then, rule.legal_obligation or "")
    console.print(retention)
