"""Purposes are data: with every purpose of the policy renamed, the engine works as before and audits
the new names. Code asks the compiled policy for a purpose's output, access and basis."""

from __future__ import annotations

import pytest

from callvault.accountability.audit import entries
from callvault.clock import parse_instant
from callvault.errors import PolicyRefusal
from callvault.policy import parse_policy
from callvault.policy.loader import default_policy_text
from callvault.processing.billing import read_billing
from callvault.processing.reads import read_subject
from callvault.processing.statistics import statistics
from callvault.processing.support import close_session, open_session
from callvault.retention.run import run_retention
from callvault.vault import Vault
from factories import make_call, make_external, make_tenant, make_user

RENAMED = {
    "personalisation": "tailoring",
    "error_diagnosis": "troubleshooting",
    "customer_service": "service_quality",
    "bookkeeping": "accounts",
}


def _renamed_policy():  # type: ignore[no-untyped-def]
    text = default_policy_text()
    for old, new in RENAMED.items():
        text = text.replace(f"  {old}:\n", f"  {new}:\n")
    policy = parse_policy(text)
    assert set(policy.purposes) == set(RENAMED.values())
    return policy


@pytest.fixture
def renamed(db_url, master_key):  # type: ignore[no-untyped-def]
    vault = Vault.open(db_url, master_key=master_key, policy=_renamed_policy())
    yield vault
    vault.close()


def test_statistics_use_the_purpose_whose_output_is_statistics(renamed):
    make_tenant(renamed)
    alice = make_user(renamed)
    make_call(renamed, caller_id=make_external(renamed), callee_id=alice)
    answer = statistics(renamed, "acme", by="day")
    assert answer["purpose"] == "service_quality"
    with renamed.engine.connect() as conn:
        (entry,) = list(entries(conn, "acme", action="stats"))
    assert entry["purpose"] == "service_quality"


def test_support_sessions_audit_the_session_purpose_and_its_basis(renamed):
    make_tenant(renamed)
    alice = make_user(renamed)
    session = open_session(renamed, "acme", ticket="INC-1", engineer="eng-joe", hours=1,
                           approved_by="tenant-admin:hr", subjects=[alice])  # fmt: skip
    read = read_subject(renamed, "acme", alice, "troubleshooting", "support:eng-joe",
                        ticket="INC-1")  # fmt: skip
    assert read["purpose"] == "troubleshooting"
    close_session(renamed, "acme", session.session_id)
    with renamed.engine.connect() as conn:
        found = {e["action"]: e for e in entries(conn, "acme") if e["action"].startswith("support")}
    assert found["support.open"]["purpose"] == "troubleshooting"
    assert found["support.open"]["legal_basis"] == "contract"
    assert found["support.close"]["purpose"] == "troubleshooting"


def test_billing_is_read_for_the_purpose_whose_output_it_is(renamed):
    make_tenant(renamed)
    alice = make_user(renamed)
    make_call(renamed, caller_id=alice, callee_id=make_external(renamed), direction="outbound")
    run_retention(renamed, as_of=parse_instant("2027-06-01", field="as_of"))
    assert len(read_billing(renamed, "acme", "accounts", "service:ledger")) == 1
    with pytest.raises(PolicyRefusal):
        read_billing(renamed, "acme", "service_quality", "service:ledger")


def test_a_policy_without_a_statistics_purpose_refuses_statistics(db_url, master_key):  # type: ignore[no-untyped-def]
    text = default_policy_text().replace("output: anonymous_statistics", "output: records")
    vault = Vault.open(db_url, master_key=master_key, policy=parse_policy(text))
    try:
        make_tenant(vault)
        with pytest.raises(PolicyRefusal, match="anonymous statistics"):
            statistics(vault, "acme")
    finally:
        vault.close()
