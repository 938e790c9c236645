"""``callvault dsr``: data subject requests, each recorded with its due date (GDPR Arts. 12, 15-21).

The CLI is the local operator acting on a request whose identity was verified elsewhere: it records who
verified it (``--verified-by``, default the operator)."""

from __future__ import annotations

import typer
from rich.table import Table

from callvault import (
    IntegrityError,
    SubjectRequest,
    Verification,
    erase,
    export_subject,
    list_requests,
    object_to,
    parse_instant,
    reapply_erasures,
    rectify,
    restrict,
)
from callvault.cli.common import ACTOR_HELP, console, open_vault, print_json

app = typer.Typer(
    help="Data subject requests (Arts. 15-21): each is recorded with its due date (Art. 12(3))."
)

VERIFIED_HELP = "Who verified the requester's identity (a role; default the operator)."


def verified(by: str | None, actor: str) -> Verification:
    """The CLI's verification: the local operator vouches for an identity checked elsewhere."""
    return Verification.operator(by or actor)


@app.command("restrict")
def restrict_(
    ctx: typer.Context,
    tenant: str = typer.Option(..., "--tenant"),
    subject: str = typer.Option(..., "--subject", help="Subject id, e-mail or phone number."),
    lift: bool = typer.Option(False, "--lift", help="End the restriction."),
    actor: str = typer.Option("operator", "--actor", help=f"Who asks: {ACTOR_HELP}."),
    verified_by: str = typer.Option(None, "--verified-by", help=VERIFIED_HELP),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Restrict processing of a subject's data (GDPR Art. 18): no purpose may read it."""
    change = restrict(
        open_vault(ctx),
        tenant,
        subject,
        actor=actor,
        lift=lift,
        verification=verified(verified_by, actor),
    )
    if as_json:
        print_json(
            {
                "subject": change.subject_id,
                "state": change.state,
                "changed": change.changed,
                "request": change.request_id,
            }
        )
    else:
        console.print(f"subject {change.subject_id}: {change.state}")


@app.command("object")
def object_(
    ctx: typer.Context,
    tenant: str = typer.Option(..., "--tenant"),
    subject: str = typer.Option(..., "--subject", help="Subject id, e-mail or phone number."),
    purpose: str = typer.Option(..., "--purpose", help="A purpose based on legitimate interest."),
    withdraw: bool = typer.Option(False, "--withdraw", help="Withdraw the objection."),
    actor: str = typer.Option("operator", "--actor", help=f"Who asks: {ACTOR_HELP}."),
    verified_by: str = typer.Option(None, "--verified-by", help=VERIFIED_HELP),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Record the subject's objection to a purpose (GDPR Art. 21)."""
    change = object_to(
        open_vault(ctx),
        tenant,
        subject,
        purpose,
        actor=actor,
        withdraw=withdraw,
        verification=verified(verified_by, actor),
    )
    if as_json:
        print_json(
            {
                "subject": change.subject_id,
                "purpose": purpose,
                "state": change.state,
                "changed": change.changed,
                "request": change.request_id,
            }
        )
    else:
        console.print(f"subject {change.subject_id}: {change.state} to {purpose}")


@app.command("list")
def list_(
    ctx: typer.Context,
    tenant: str = typer.Option(None, "--tenant", help="One tenant only."),
    overdue: bool = typer.Option(
        False, "--overdue", help="Only open requests past their due date; exit 6 when any."
    ),
    at: str = typer.Option(None, "--at", help="Judge due dates as of this date (default now)."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Requests with their state and due date (Art. 12(3)); overdue ones are flagged."""
    moment = parse_instant(at, field="--at") if at else None
    found = list_requests(open_vault(ctx), tenant=tenant, overdue=overdue, at=moment)
    if as_json:
        print_json({"requests": [item.as_dict(moment) for item in found]})
    else:
        _print_requests(found, moment)
    late = sum(item.overdue(moment) for item in found)
    if overdue and late:
        raise IntegrityError(f"{late} requests are past their due date (GDPR Art. 12(3))")


def _print_requests(found: list[SubjectRequest], moment: object) -> None:
    table = Table("tenant", "request", "type", "subject", "received", "due", "state")
    for item in found:
        due = f"{item.due_at:%Y-%m-%d}" + (" (extended)" if item.extended else "")
        if item.overdue(moment):  # type: ignore[arg-type]
            due = f"[bold red]{due} overdue[/]"
        table.add_row(item.tenant_id, item.request_id, item.type, item.subject_id or "-",
                      f"{item.received_at:%Y-%m-%d}", due, item.state)  # fmt: skip
    console.print(table)


@app.command("access")
def access_(
    ctx: typer.Context,
    tenant: str = typer.Option(..., "--tenant"),
    subject: str = typer.Option(..., "--subject", help="Subject id, e-mail or phone number."),
    out: str = typer.Option(..., "--out", help="A new .zip file (mode 0600)."),
    portability: bool = typer.Option(
        False, "--portability", help="Record it as a portability request (Art. 20)."
    ),
    request: str = typer.Option(None, "--request", help="Answer this recorded request (a UUID)."),
    actor: str = typer.Option("operator", "--actor", help=f"Who acts: {ACTOR_HELP}."),
    verified_by: str = typer.Option(None, "--verified-by", help=VERIFIED_HELP),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Everything held on a subject, in one zip (GDPR Art. 15 and 20): subject.json, calls.csv and
    the voicemail audio."""
    done = export_subject(
        open_vault(ctx),
        tenant,
        subject,
        out,
        verification=verified(verified_by, actor),
        actor=actor,
        portability=portability,
        request_id=request,
    )
    if as_json:
        print_json(done)
    else:
        console.print(
            f"wrote {done['out']}: {done['calls']} calls, {done['voicemails']} voicemails "
            f"(request {done['request']})"
        )


@app.command("rectify")
def rectify_(
    ctx: typer.Context,
    tenant: str = typer.Option(..., "--tenant"),
    subject: str = typer.Option(..., "--subject", help="Subject id, e-mail or phone number."),
    field: str = typer.Option(..., "--field", help="name, email or phone."),
    value: str = typer.Option(..., "--value", help="The correct value (replaces every old one)."),
    request: str = typer.Option(None, "--request", help="Answer this recorded request (a UUID)."),
    actor: str = typer.Option("operator", "--actor", help=f"Who acts: {ACTOR_HELP}."),
    verified_by: str = typer.Option(None, "--verified-by", help=VERIFIED_HELP),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Correct a subject's name, e-mail or number (GDPR Art. 16); the old value is not kept."""
    done = rectify(
        open_vault(ctx),
        tenant,
        subject,
        field,
        value,
        verification=verified(verified_by, actor),
        actor=actor,
        request_id=request,
    )
    if as_json:
        print_json(done)
    else:
        console.print(f"subject {done['subject']}: {field} rectified (request {done['request']})")


@app.command("erase")
def erase_(
    ctx: typer.Context,
    tenant: str = typer.Option(..., "--tenant"),
    subject: str = typer.Option(..., "--subject", help="Subject id, e-mail or phone number."),
    request: str = typer.Option(None, "--request", help="Answer this recorded request (a UUID)."),
    actor: str = typer.Option("operator", "--actor", help=f"Who acts: {ACTOR_HELP}."),
    verified_by: str = typer.Option(None, "--verified-by", help=VERIFIED_HELP),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Erase a subject (GDPR Art. 17): shred its key, delete its data; legal holds kept and named."""
    done = erase(
        open_vault(ctx),
        tenant,
        subject,
        verification=verified(verified_by, actor),
        actor=actor,
        request_id=request,
    )
    if as_json:
        print_json(done.as_dict())
        return
    console.print(f"subject {done.subject_id} erased (request {done.request_id})")
    for kind, count in done.counts.items():
        console.print(f"  {kind}: {count}")
    for hold in done.legal_hold:
        console.print(f"  kept: {hold['kept']} {hold['kind']} under {hold['law']} ({hold['for']})")


@app.command("reapply-erasures")
def reapply_(
    ctx: typer.Context,
    actor: str = typer.Option("operator", "--actor", help=f"Who acts: {ACTOR_HELP}."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """After restoring a backup of the data database: erase again every subject erased since."""
    done = reapply_erasures(open_vault(ctx), actor=actor)
    if as_json:
        print_json(done.as_dict())
    else:
        console.print(f"{done.total} subjects erased again")
