"""``callvault policy``: the operator's policy as code: summary, check, load, versions, render."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from callvault import (
    NOTICE_FORMATS,
    CompiledPolicy,
    LintReport,
    Policy,
    PolicyInvalid,
    UsageError,
    changed_purposes,
    lint,
    lint_file,
    load_policy,
    load_version,
    policy_history,
    policy_in_force,
    render_notice,
    tenant_profile,
)
from callvault.cli.common import console, open_vault, print_json

app = typer.Typer(help="The privacy policy as code: summary, lint, versions, rendered notice.")


def _db(ctx: typer.Context) -> str | None:
    root = ctx.find_root()
    return root.obj.get("db") if root.obj else None


def _active(ctx: typer.Context) -> Policy:
    """The policy in force: the newest stored version, else CALLVAULT_POLICY or the default."""
    return policy_in_force(_db(ctx))


@app.command("summary")
def summary(ctx: typer.Context, as_json: bool = typer.Option(False, "--json")) -> None:
    """Summarise the policy in force: purposes, legal bases, categories, recipients, retention."""
    compiled = CompiledPolicy.compile(_active(ctx))
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


def _print_report(report: LintReport) -> None:
    for finding in report.findings:
        typer.echo(f"{finding.severity}: {finding.path} [{finding.article}]")
        typer.echo(f"    {finding.message}")
    typer.echo(
        f"{report.source} (version {report.version}): {len(report.errors)} error(s), "
        f"{len(report.warnings)} warning(s)"
    )


@app.command("check")
def check(
    ctx: typer.Context,
    file: Path = typer.Argument(None, help="A policy YAML file (default: the policy in force)."),
    as_json: bool = typer.Option(False, "--json", help="Print the findings as JSON."),
) -> None:
    """Lint a policy: findings with severity and GDPR article; exit 5 when any is an error."""
    report = lint_file(file) if file else lint(_active(ctx), source="policy in force")
    if as_json:
        print_json(report.as_dict())
    else:
        _print_report(report)
    if report.errors:
        raise PolicyInvalid(f"policy check: {len(report.errors)} error(s) in {report.source}")


@app.command("load")
def load(
    ctx: typer.Context,
    file: Path = typer.Argument(..., help="The new policy version (YAML)."),
    actor: str = typer.Option("operator", "--actor"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Store a new policy version and put it in force; old versions are kept."""
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise PolicyInvalid(f"cannot read policy {file}: {exc.strerror}") from exc
    vault = open_vault(ctx)
    before = vault.policy
    version = load_version(vault, text, source=str(file), actor=actor)
    changed = changed_purposes(before, vault.policy)
    if as_json:
        print_json({**version.as_dict(), "changed_purposes": changed})
        return
    console.print(f"policy version {version.version} in force (stored as #{version.seq})")
    if changed:
        console.print(
            "changed purposes (consent given before must be given again): " + ", ".join(changed)
        )


@app.command("versions")
def versions(ctx: typer.Context, as_json: bool = typer.Option(False, "--json")) -> None:
    """The stored policy versions, oldest first; the last one is in force."""
    rows = [v.as_dict() for v in policy_history(_db(ctx))]
    if as_json:
        print_json(rows)
        return
    table = Table("#", "version", "loaded at", "by", "digest")
    for row in rows:
        table.add_row(
            str(row["seq"]), row["version"], row["loaded_at"], row["loaded_by"], row["digest"][:16]
        )
    console.print(table)


@app.command("render")
def render(
    ctx: typer.Context,
    tenant: str = typer.Option(None, "--tenant", help="Render for this tenant's profile."),
    fmt: str = typer.Option("md", "--format", help="md or html."),
    out: Path = typer.Option(None, "--out", help="Write to this file instead of stdout."),
    file: Path = typer.Option(None, "--file", help="Render this policy YAML instead."),
) -> None:
    """The privacy notice (Art. 13/14), generated from the policy in force."""
    if fmt not in NOTICE_FORMATS:
        raise UsageError(f"--format must be one of {', '.join(NOTICE_FORMATS)}")
    compiled = CompiledPolicy.compile(load_policy(file) if file else _active(ctx))
    profile = None
    if tenant:
        profile = tenant_profile(_db(ctx), tenant)
    text = render_notice(compiled, profile, fmt)
    if out:
        out.write_text(text, encoding="utf-8")
    else:
        typer.echo(text, nl=False)
