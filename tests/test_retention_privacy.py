"""Retention leaves nothing event-level: small cells suppressed, billing gated, consents go."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from callvault.accountability import audit
from callvault.clock import parse_instant
from callvault.consent.acts import give_consent
from callvault.errors import PolicyRefusal
from callvault.processing.billing import read_billing
from callvault.retention.run import run_retention
from callvault.rights.restriction import object_to, restrict
from callvault.store.schema.consent import consent_events, consent_records
from callvault.store.schema.restrictions import subject_objections, subject_restrictions
from callvault.store.schema.statistics import call_statistics
from callvault.vault import Vault
from clihelp import run_cli
from factories import make_call, make_external, make_offboarded, make_tenant, make_user, make_users

AS_OF = parse_instant("2027-01-01", field="as_of")
QUIET = ["2026-06-01T02:15:00+00:00", "2026-06-01T04:40:00+00:00", "2026-06-01T23:05:00+00:00"]


def cells(vault: Vault) -> list[tuple[str, str, str, int, int]]:
    s = call_statistics.c
    with vault.engine.connect() as conn:
        rows = conn.execute(select(s.bucket_start, s.direction, s.outcome, s.calls, s.subjects))
        return sorted((b.isoformat(), d, o, n, k) for b, d, o, n, k in rows)


def count(vault: Vault, table, subject_id: str) -> int:  # type: ignore[no-untyped-def]
    with vault.engine.connect() as conn:
        where = table.c.subject_id == subject_id
        return int(conn.scalar(select(func.count()).select_from(table).where(where)) or 0)


def test_quiet_hours_are_suppressed_not_kept(vault, cli_env, capsys):
    make_tenant(vault, "acme")
    users = make_users(vault, 5)
    for i, (user, started) in enumerate(zip(users, QUIET, strict=False)):
        ext = make_external(vault, phone=f"+454040404{i}")
        make_call(vault, caller_id=user, callee_id=ext, started_at=started, direction="outbound")
    busy = [make_external(vault, phone=f"+453030303{i}") for i in range(5)]
    for ext, user in zip(busy, users, strict=True):  # five people in one hour: k, keeps its hour
        make_call(vault, caller_id=ext, callee_id=user, started_at="2026-06-01T10:10:00Z")
    report = run_retention(vault, as_of=AS_OF)
    # Each quiet hour is one person's call: beside the billing copy it would name them (issue 12).
    assert report.counts["acme"]["call_record"]["cells_suppressed"] == 3
    assert cells(vault) == [("2026-06-01T10:00:00+00:00", "inbound", "answered", 5, 5)]
    shown = run_cli(capsys, "stats", "--tenant", "acme", "--from", "2026-06-01", "--json")
    assert shown.code == 0
    assert shown.json()["cells"] == [
        {
            "bucket": "2026-06-01",
            "direction": "inbound",
            "outcome": "answered",
            "calls": 5,
            "duration_s": 300,
            "billsec_s": 300,  # 55 s each, rounded to 60 before summing
        }
    ]
    assert shown.json()["suppressed_cells"] == 0  # nothing below k is kept to be suppressed
    assert run_retention(vault, as_of=AS_OF).counts["acme"]["call_record"]["cells_suppressed"] == 0


def test_a_cells_population_counts_each_user_once_on_either_side(vault):
    """The population is the distinct users among callers and callees together (the rule of
    store.cells.population): a user on both sides counts once, a callee counts as much as a
    caller, externals and unknown parties not at all. Five here, so the cell meets k and is kept
    with its population; miscounting either side would keep 6 or suppress it."""
    make_tenant(vault, "acme")
    u1, u2, u3, u4, u5 = make_users(vault, 5)
    ext = make_external(vault, phone="+4540404050")
    hour = "2026-06-01T10:{:02d}:00Z"
    for minute, (caller, callee) in enumerate(
        [(u1, u2), (u2, u1), (u3, ext), (ext, u4), (u5, None), (None, ext), (u1, u2)]
    ):
        make_call(vault, caller_id=caller, callee_id=callee, started_at=hour.format(minute),
                  direction="outbound")  # fmt: skip
    run_retention(vault, as_of=AS_OF)
    assert cells(vault) == [("2026-06-01T10:00:00+00:00", "outbound", "answered", 7, 5)]


def test_a_cell_of_no_user_is_never_kept(vault):
    make_tenant(vault, "acme")
    make_call(vault, caller_id=None, callee_id=None, started_at=QUIET[0])
    run_retention(vault, as_of=parse_instant("2026-08-30T12:00:00Z", field="as_of"))
    make_call(vault, caller_id=None, callee_id=None, started_at=QUIET[2])
    run_retention(vault, as_of=AS_OF)
    assert cells(vault) == []


def test_billing_reads_go_through_the_gate(vault):
    make_tenant(vault, "acme")
    payer = make_user(vault)
    other = make_user(vault, email="bo@acme.dk", phone="+4522334466", extension="202")
    for user in (payer, other):
        make_call(vault, caller_id=user, callee_id=None, started_at=QUIET[0], direction="outbound")
    run_retention(vault, as_of=AS_OF)
    restrict(vault, "acme", payer)
    rows = read_billing(vault, "acme", "bookkeeping", actor="accountant")
    assert [r["payer_subject_id"] for r in rows] == [other]  # stored, but not processed (Art. 18)
    for asked in ("Carl's calls", "customer_service", "personalisation"):
        with pytest.raises(PolicyRefusal) as refused:
            read_billing(vault, "acme", asked, actor="accountant")
        assert "Carl" not in str(refused.value) and "this purpose" in str(refused.value)
    with vault.engine.connect() as conn:
        entries = list(audit.entries(conn, "acme", action="billing.read"))
    assert [(e["outcome"], e["purpose"]) for e in entries] == [  # newest first
        ("deny", "personalisation"),
        ("deny", "customer_service"),
        ("deny", None),
        ("allow", "bookkeeping"),
    ]
    assert entries[-1]["details"]["records_withheld"] == 1


def test_a_leavers_consents_and_restrictions_go_with_the_profile(vault):
    make_tenant(vault, "acme")
    leaver = make_user(vault)
    stayer = make_user(vault, email="bo@acme.dk", phone="+4522334466", extension="202")
    for user in (leaver, stayer):
        give_consent(vault, "acme", user, "personalisation")
        restrict(vault, "acme", user)
        object_to(vault, "acme", user, "customer_service")
    make_offboarded(vault, "acme", leaver, "2026-06-01T00:00:00+00:00")
    run_retention(vault, as_of=AS_OF)
    tables = (consent_records, subject_restrictions, subject_objections)
    assert [count(vault, t, leaver) for t in tables] == [0, 0, 0]
    assert [count(vault, t, stayer) for t in tables] == [1, 1, 1]
    with vault.engine.connect() as conn:
        events = conn.scalar(select(func.count()).select_from(consent_events))
    assert events == 1  # the stayer's "given"; the leaver's history went with its record
