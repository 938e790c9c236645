"""Restriction (Art. 18) and objection (Art. 21) through `callvault dsr`, on both databases."""

from datetime import UTC, datetime

import pytest

from callvault.accountability.audit import entries
from callvault.policy.model import STATISTICS
from callvault.processing.context import load_context
from callvault.processing.gate import decide
from callvault.processing.statistics import statistics
from callvault.tenants import get_tenant
from clihelp import run_cli
from factories import make_call, make_external, make_tenant, make_user, make_users


@pytest.fixture
def alice(vault):
    make_tenant(vault)
    return make_user(vault)


def _decision(vault, subject_id, purpose, output="records"):
    now = datetime.now(UTC)
    with vault.engine.connect() as conn:
        tenant = get_tenant(conn, "acme")
        ctx, _ = load_context(conn, vault.policy, "acme", subject_id, purpose, now)
    return decide("app", tenant, subject_id, purpose, None, now, ctx=ctx, output=output)


def test_restrict_and_lift(vault, alice, cli_env, capsys):
    args = ["dsr", "restrict", "--tenant", "acme", "--subject", "alice@acme.dk", "--json"]
    first = run_cli(capsys, *args).json()
    assert first.pop("request")  # recorded as a restriction request (issue 13)
    assert first == {"subject": alice, "state": "restricted", "changed": True}
    assert run_cli(capsys, *args).json()["changed"] is False
    assert _decision(vault, alice, "personalisation").rule == "restriction"
    assert run_cli(capsys, *args, "--lift").json()["state"] == "not restricted"
    assert _decision(vault, alice, "personalisation").rule == "consent.missing"
    with vault.engine.connect() as conn:
        actions = [e["action"] for e in entries(conn, "acme") if e["action"].startswith("restr")]
    assert actions[:2] == ["restriction.lift", "restriction.add"]


def test_objection_denies_legitimate_interest_only(vault, alice, cli_env, capsys):
    args = ["dsr", "object", "--tenant", "acme", "--subject", alice]
    assert run_cli(capsys, *args, "--purpose", "customer_service").code == 0
    decision = _decision(vault, alice, "customer_service", STATISTICS)
    assert decision.rule == "objection" and decision.reason.startswith("objection")
    result = run_cli(capsys, *args, "--purpose", "personalisation")
    assert result.code == 5 and "withdraw the consent" in result.err
    assert run_cli(capsys, *args, "--purpose", "error_diagnosis").code == 5
    assert run_cli(capsys, *args, "--purpose", "customer_service", "--withdraw").code == 0
    assert _decision(vault, alice, "customer_service", STATISTICS).allowed


def test_unknown_subject_is_not_found(vault, alice, cli_env, capsys):
    make_tenant(vault, "globex")
    args = ["dsr", "restrict", "--tenant", "globex", "--subject", alice]
    assert run_cli(capsys, *args).code == 4


def test_objection_excludes_subject_from_statistics(vault, alice, cli_env, capsys):
    colleagues = make_users(vault, 4)  # with Alice, five people: a cell of k
    for i, user in enumerate([alice, *colleagues]):
        make_call(vault, caller_id=make_external(vault, phone=f"+45505050{i:02d}"), callee_id=user)
    assert len(statistics(vault, "acme")["cells"]) == 1
    args = ["dsr", "object", "--tenant", "acme", "--subject", alice]
    assert run_cli(capsys, *args, "--purpose", "customer_service").code == 0
    assert statistics(vault, "acme")["cells"] == []  # Art. 21(1): no longer processed
