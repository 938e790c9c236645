"""Actors are roles, never personal identifiers: nothing a person typed about a person reaches the
never-erased audit log (finding 3)."""

import pytest

from callvault.accountability.audit import entries
from callvault.errors import InvalidInput
from callvault.processing.billing import read_billing
from callvault.subjects.actors import check_actor
from callvault.tenants import add_tenant
from clihelp import run_cli
from factories import make_call, make_external, make_tenant, make_user

PERSONAL = ["alice@acme.dk", "+4533334444", "service:4533334444", "support:22 33 44 55", "Alice"]


@pytest.mark.parametrize(
    "actor",
    ["operator", "support:eng-joe", "service:crm", "tenant-admin:hr", "subject:" + "a" * 32],
)
def test_roles_pass(actor):
    assert check_actor(actor) == actor


@pytest.mark.parametrize("actor", [*PERSONAL, "", "support:", "app:alice@acme.dk", "x:a b"])
def test_personal_identifiers_are_refused_unquoted(actor):
    with pytest.raises(InvalidInput) as caught:
        check_actor(actor)
    assert "not a personal identifier" in caught.value.message
    assert actor not in PERSONAL or actor not in caught.value.message


def _audit_log(capsys):
    log = run_cli(capsys, "audit", "log", "--tenant", "acme", "--json", "--limit", "1000")
    assert log.code == 0, log.err
    return log.out


def test_no_entry_point_audits_a_personal_actor(vault, cli_env, capsys):
    make_tenant(vault)
    make_user(vault)
    subject = ["--tenant", "acme", "--subject", "alice@acme.dk"]
    before = _audit_log(capsys)
    for actor in PERSONAL:
        calls = [
            ["read", *subject, "--purpose", "personalisation", "--actor", actor],
            ["stats", "--tenant", "acme", "--actor", actor],
            ["disclose", *subject, "--to", "subject", "--out", "x.json", "--actor", actor],
            ["dsr", "restrict", *subject, "--actor", actor],
            ["dsr", "object", *subject, "--purpose", "customer_service", "--actor", actor],
            ["consent", "give", *subject, "--purpose", "personalisation", "--actor", actor],
            ["consent", "withdraw", *subject, "--purpose", "personalisation", "--actor", actor],
        ]
        for args in calls:
            result = run_cli(capsys, *args)
            assert result.code == 5 and "not a personal identifier" in result.err, args
    support = ["support", "open", "--tenant", "acme", "--hours", "1", "--subject", "alice@acme.dk"]
    approved = [*support, "--approved-by", "tenant-admin:hr", "--ticket"]
    assert run_cli(capsys, *approved, "T-1", "--engineer", "alice@acme.dk").code == 5
    assert run_cli(capsys, *approved, "alice@acme.dk", "--engineer", "eng-joe").code == 5
    by_mail = [*support, "--ticket", "T-1", "--engineer", "eng-joe", "--approved-by", "c@acme.dk"]
    assert run_cli(capsys, *by_mail).code == 5
    with pytest.raises(InvalidInput):
        add_tenant(vault, "globex", name="G", collect=["name"], actor="bob@globex.dk")
    assert _audit_log(capsys) == before  # nothing audited, and no identifier in it


def test_refused_recipient_is_recorded_by_kind_only(vault, cli_env, capsys):
    make_tenant(vault)
    alice = make_user(vault)
    make_call(vault, caller_id=make_external(vault), callee_id=alice)
    args = ["disclose", "--tenant", "acme", "--subject", "alice@acme.dk", "--out", "x.json"]
    refused = run_cli(capsys, *args, "--to", "carl.caller@gmail.com")
    assert refused.code == 3 and "carl" not in refused.err
    log = _audit_log(capsys)
    assert "carl" not in log and "gmail" not in log and '"recipient": "third_party"' in log


def test_the_audit_log_itself_refuses_a_personal_actor(vault):
    """The backstop for entry points that do not check (e.g. a library caller of billing)."""
    make_tenant(vault)
    with pytest.raises(InvalidInput):
        read_billing(vault, "acme", "bookkeeping", actor="carl.caller@gmail.com")
    with vault.engine.connect() as conn:
        assert list(entries(conn, "acme", action="billing.read")) == []
