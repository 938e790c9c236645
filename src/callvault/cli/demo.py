"""``callvault demo``: a vault to try callvault on, built through the real ingest paths.

Two tenants, a few hundred users, about a hundred thousand calls over a year, voicemail, consents,
a support session and data subject requests (one overdue); then tokens for a tenant admin, a service, a support engineer and a subject,
and curl lines that work as printed against ``callvault serve``. Everything is invented.
"""

from __future__ import annotations

import random
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from callvault import (
    Vault,
    Verification,
    add_tenant,
    complete_request,
    create_request,
    create_token,
    give_consent,
    ingest_calls,
    ingest_subjects,
    ingest_voicemail,
    open_session,
    refuse_consent,
    request_session,
    start_request,
)
from callvault.cli import demo_data
from callvault.cli.common import console, open_vault

TENANTS = {  # id: (name, domain, share of users and calls, first number, collects voicemail)
    "acme": ("Acme ApS", "acme.example", 0.65, 22100000, True),
    "globex": ("Globex A/S", "globex.example", 0.35, 23100000, False),
}
ALL = ["name", "email", "phone", "call_history"]


def _tenants(vault: Vault, now: datetime) -> None:
    for tenant, (name, _, _, _, voicemail) in TENANTS.items():
        add_tenant(vault, tenant, name=name, collect=ALL + (["voicemail"] if voicemail else []),
                   agreement_id="SSA-2026", agreement_from=now - timedelta(days=400),
                   agreement_to=now + timedelta(days=365))  # fmt: skip


def _purposes(vault: Vault) -> dict[str, list[str]]:
    """The purposes the demo uses, asked of the policy (purposes are data)."""
    policy = vault.policy
    consent = [n for n, p in policy.policy.purposes.items() if p.legal_basis == "consent"]
    return {
        "consent": consent,
        "statistics": [p.name for p in policy.purposes_with(output="anonymous_statistics")],
        "support": [p.name for p in policy.purposes_with(access="support_session")],
    }


class Steps:
    """One progress bar per step, advanced by the ingest functions' byte counts."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress

    def file(self, label: str, path: Path) -> Any:
        task = self.progress.add_task(label, total=path.stat().st_size)
        return lambda n: self.progress.advance(task, n)  # called with the bytes just read

    def count(self, label: str, total: int) -> Any:
        task = self.progress.add_task(label, total=total)
        return lambda n=1: self.progress.advance(task, n)


def _build(vault: Vault, folder: Path, users: int, calls: int, steps: Steps,
           rng: random.Random) -> dict[str, Any]:  # fmt: skip
    now = datetime.now(UTC).replace(microsecond=0)
    _tenants(vault, now)
    people: dict[str, list[demo_data.DemoUser]] = {}
    for tenant, (_, domain, share, first, voicemail) in TENANTS.items():
        people[tenant] = demo_data.users(tenant, domain, max(2, int(users * share)), first, rng)
        directory, records = folder / f"{tenant}-users.csv", folder / f"{tenant}-calls.jsonl"
        demo_data.write_directory(directory, people[tenant], now - timedelta(days=730))
        demo_data.write_calls(records, people[tenant], int(calls * share), now, rng)
        ingest_subjects(vault, tenant, directory, format="csv",
                        progress=steps.file(f"{tenant}: users", directory))  # fmt: skip
        ingest_calls(vault, tenant, records, format="jsonl",
                     progress=steps.file(f"{tenant}: calls", records))  # fmt: skip
        if voicemail:
            spool = folder / f"{tenant}-spool"
            demo_data.write_spool(spool, people[tenant], max(10, users // 2), now, rng)
            ingest_voicemail(vault, tenant, spool, progress=steps.count(f"{tenant}: voicemail",
                                                                        max(10, users // 2)))  # fmt: skip
    purposes = _purposes(vault)
    acme = people["acme"]
    consenting = acme[: max(1, len(acme) // 3)]
    advance = steps.count("consents", len(consenting) + 5)
    for person in consenting:
        for purpose in purposes["consent"]:
            give_consent(vault, "acme", person.email, purpose, method="privacy_centre")
        advance()
    for person in acme[-5:]:
        for purpose in purposes["consent"]:
            refuse_consent(vault, "acme", person.email, purpose, method="privacy_centre")
        advance()
    session = open_session(vault, "acme", ticket="INC-1001", engineer="eng-joe", hours=48,
                           approved_by="tenant-admin:demo", subjects=[acme[0].email])  # fmt: skip
    # one more the engineer asked for, awaiting the tenant admin in the console's support page
    request_session(vault, "acme", ticket="INC-1002", engineer="eng-joe", subjects=[acme[-1].email])
    _requests(vault, now, acme, people["globex"])
    return {"purposes": purposes, "subject": acme[0].email, "session": session.session_id}


def _requests(vault: Vault, now: datetime, acme: list[demo_data.DemoUser],
              globex: list[demo_data.DemoUser]) -> None:  # fmt: skip
    """Requests in each state of the queue: one overdue (received 40 days ago, still pending),
    one in progress, one answered, and one of the other tenant's."""
    checked = Verification("controller", "tenant-admin:demo", now - timedelta(days=40))
    create_request(vault, "acme", acme[1].email, "access", actor="tenant-admin:demo",
                   channel="opendsr", verification=checked,
                   received_at=now - timedelta(days=40))  # fmt: skip
    started = create_request(vault, "acme", acme[2].email, "portability", actor="tenant-admin:demo",
                             channel="opendsr", verification=checked,
                             received_at=now - timedelta(days=3))  # fmt: skip
    start_request(vault, "acme", started.request_id)
    answered = create_request(vault, "acme", acme[3].email, "objection",
                              actor="tenant-admin:demo", channel="privacy_centre",
                              verification=checked, received_at=now - timedelta(days=10))  # fmt: skip
    complete_request(vault, "acme", answered.request_id, "objection recorded")
    create_request(vault, "globex", globex[0].email, "access", actor="tenant-admin:demo",
                   channel="api", received_at=now - timedelta(days=1))  # fmt: skip


def _tokens(vault: Vault, built: dict[str, Any]) -> dict[str, Any]:
    purposes = built["purposes"]
    admin, _ = create_token(vault, "acme", "tenant_admin", name="demo")
    service, _ = create_token(vault, "acme", "service", name="app",
                              purposes=purposes["consent"] + purposes["statistics"])  # fmt: skip
    support, _ = create_token(vault, "acme", "support_engineer", name="eng-joe")
    subject, who = create_token(vault, "acme", "subject", subject=built["subject"])
    return {"admin": admin, "service": service, "support": support, "subject": subject,
            "subject_id": who.subject_id}  # fmt: skip


def _tour(url: str, t: dict[str, Any], built: dict[str, Any]) -> list[str]:
    api, sid = f"{url}/api/v1/tenants/acme", t["subject_id"]
    consent = built["purposes"]["consent"][0]
    stats = built["purposes"]["statistics"][0]
    support = built["purposes"]["support"][0]

    def curl(token: str, path: str, method: str = "") -> str:
        verb = f"-X {method} " if method else ""
        return f'curl -s {verb}-H "Authorization: Bearer {t[token]}" "{path}"'

    return [
        "# the tenant (admin token): profile, agreement, retention, records held",
        curl("admin", api),
        "# anonymous statistics: calls per day by direction and outcome (service token)",
        curl("service", f"{api}/statistics?by=day&purpose={stats}"),
        f"# a purpose-bound read of a consenting user ({consent}), audited as service:app",
        curl("service", f"{api}/subjects/{sid}/data?purpose={consent}"),
        "# the same subject withdraws its consent with its own token; the read above is now 403",
        curl("subject", f"{api}/subjects/{sid}/consents/{consent}/withdraw", "POST"),
        "# the support engineer reads in the session the tenant admin approved (pseudonymised)",
        curl("support", f"{api}/subjects/{sid}/data?purpose={support}&ticket=INC-1001"),
        "# the data subject requests past their one-month deadline (Art. 12(3))",
        curl("admin", f"{api}/requests?overdue=true"),
        "# retention status (overdue records until the scheduled run) and the audit chain",
        curl("admin", f"{api}/retention"),
        curl("admin", f"{api}/audit/verify"),
        "# another tenant: the same 404 as a tenant that does not exist",
        curl("admin", f"{url}/api/v1/tenants/globex"),
        f"# the OpenAPI document: {url}/docs",
        f"# in a browser, the admin console: {url}/admin/login (paste the admin token above);",
        "#   its support page has the engineer's request for ticket INC-1002 to approve or deny",
        f"# the privacy centre: {url}/privacy/acme/ (sign in as {built['subject']}; serve with",
        "#   CALLVAULT_SMTP_URL=console, as `make run` does, and the one-time code is printed on",
        "#   the server's console: for the demo only)",
    ]


def demo(
    ctx: typer.Context,
    users: int = typer.Option(300, "--users", min=4, max=100_000, help="Users over both tenants."),
    calls: int = typer.Option(
        100_000, "--calls", min=10, max=10_000_000, help="Calls over a year."
    ),
    seed: int = typer.Option(14, "--seed", help="Random seed (the same seed, the same data)."),
    url: str = typer.Option(
        "http://127.0.0.1:8000", "--url", help="Server URL for the curl lines."
    ),
) -> None:
    """Build a demo vault (two tenants, USERS users, CALLS calls over a year, voicemail, consents,
    a support session, requests with one overdue) through the real ingest paths, and print tokens and curl lines to try."""
    vault = open_vault(ctx, create=True)
    columns = (TextColumn("{task.description:<20}"), BarColumn(), TimeElapsedColumn())
    with (
        tempfile.TemporaryDirectory(prefix="callvault-demo-") as tmp,
        Progress(*columns, console=console, transient=False) as progress,
    ):
        built = _build(vault, Path(tmp), users, calls, Steps(progress), random.Random(seed))
    tokens = _tokens(vault, built)
    typer.echo("\ntokens (shown once, stored only as hashes):")
    for role in ("admin", "service", "support", "subject"):
        typer.echo(f"  {role:<8} {tokens[role]}")
    typer.echo("\ntry, with `callvault serve` running:\n")
    typer.echo("\n".join(_tour(url, tokens, built)))


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
