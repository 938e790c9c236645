"""``callvault consent``: give, withdraw, refuse and show consent (explicit acts only, Art. 7)."""

from __future__ import annotations

from collections.abc import Callable

import typer
from rich.table import Table

from callvault import (
    ConsentRecord,
    UsageError,
    consent_receipt,
    expire_consents,
    give_consent,
    parse_instant,
    refuse_consent,
    subject_consents,
    withdraw_consent,
)
from callvault.cli.common import ACTOR_HELP, console, open_vault, print_json

app = typer.Typer(help="Consent records: given only by an explicit act, withdrawable at any time.")

TENANT = typer.Option(..., "--tenant", help="The tenant (controller).")
SUBJECT = typer.Option(..., "--subject", help="Subject id, e-mail or phone number.")
PURPOSE = typer.Option(..., "--purpose", help="A purpose of the policy whose basis is consent.")
ACTOR = typer.Option(
    None,
    "--actor",
    help="Who performs the act (default: the subject itself, recorded as subject:<id>). Only the "
    "subject gives consent; the subject or tenant-admin:<name> may withdraw or refuse.",
)
METHOD = typer.Option("cli", "--method", help="cli, api or privacy_centre.")
JSON = typer.Option(False, "--json", help="Print the record as JSON.")


def _done(record: ConsentRecord, verb: str, as_json: bool) -> None:
    if as_json:
        print_json(record.as_dict())
    else:
        console.print(
            f"consent {verb}: record {record.record_id} ({record.purpose}, subject "
            f"{record.subject_id}, policy version {record.policy_version}, state {record.state})"
        )


ConsentAct = Callable[..., ConsentRecord]


def _act_command(name: str, act: ConsentAct, verb: str, doc: str) -> None:
    """One command per consent act; they differ only in the library function they call."""

    def command(
        ctx: typer.Context,
        tenant: str = TENANT,
        subject: str = SUBJECT,
        purpose: str = PURPOSE,
        actor: str = ACTOR,
        method: str = METHOD,
        as_json: bool = JSON,
    ) -> None:
        record = act(open_vault(ctx), tenant, subject, purpose, actor=actor, method=method)
        _done(record, verb, as_json)

    command.__doc__ = doc
    app.command(name)(command)


_act_command("give", give_consent, "given", "Record the subject's explicit consent to one purpose.")
_act_command(
    "withdraw",
    withdraw_consent,
    "withdrawn",
    "Withdraw consent: the next decision denies; the record and its history stay.",
)
_act_command("refuse", refuse_consent, "refused", "Record that the subject, asked, said no.")


@app.command("show")
def show(
    ctx: typer.Context,
    tenant: str = TENANT,
    subject: str = typer.Option(None, "--subject", help="Subject id, e-mail or phone number."),
    receipt: str = typer.Option(None, "--receipt", help="Print the JSON receipt of one record."),
    actor: str = typer.Option(
        "operator", "--actor", help=f"Who asks: {ACTOR_HELP}; the showing is audited."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print as JSON."),
) -> None:
    """A subject's consent per purpose and every record with its history, or one record's receipt
    (each showing is an audit entry, consent.show)."""
    vault = open_vault(ctx)
    if receipt:
        print_json(consent_receipt(vault, tenant, receipt, actor=actor))
        return
    if not subject:
        raise UsageError("consent show needs --subject or --receipt")
    shown = subject_consents(vault, tenant, subject, actor=actor)
    if as_json:
        print_json(shown)
        return
    table = Table("purpose", "consent", "reason", "record")
    for name, state in shown["purposes"].items():
        table.add_row(
            name, "yes" if state["valid"] else "no", state["reason"], state["record_id"] or ""
        )
    console.print(f"subject {shown['subject_id']}, policy version {shown['policy_version']}")
    console.print(table)
    history = Table("record", "purpose", "event", "at", "actor", "policy version")
    for record in shown["records"]:
        for event in record["events"]:
            history.add_row(
                record["record_id"],
                record["purpose"],
                event["event"],
                event["at"],
                event["actor"],
                event["policy_version"],
            )
    console.print(history)


@app.command("expire")
def expire(
    ctx: typer.Context,
    as_of: str = typer.Option(None, "--as-of", help="ISO 8601 date (default: now)."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Mark consents whose lifetime (policy consent.valid_for) has ended as expired."""
    at = parse_instant(as_of, field="--as-of") if as_of else None
    counts = expire_consents(open_vault(ctx), at)
    if as_json:
        print_json(counts)
    else:
        console.print(f"expired {sum(counts.values())} consent record(s)")
