"""Data subject requests as records: due dates, extension, states, audit, `dsr list` (both databases)."""

from datetime import UTC, datetime

import pytest

from callvault import (
    InvalidInput,
    NotFound,
    PolicyRefusal,
    Verification,
    cancel_request,
    complete_request,
    create_request,
    extend_request,
    get_request,
    list_requests,
    restrict,
    start_request,
)
from callvault.accountability.audit import entries
from clihelp import run_cli
from factories import make_tenant, make_user

JAN31 = datetime(2026, 1, 31, 9, tzinfo=UTC)


@pytest.fixture
def alice(vault):
    make_tenant(vault)
    return make_user(vault)


def _actions(vault, tenant="acme"):
    with vault.engine.connect() as conn:
        return [e["action"] for e in entries(conn, tenant)]


def test_due_date_is_one_calendar_month(vault, alice):
    req = create_request(vault, "acme", "alice@acme.dk", "access",
                         verification=Verification.operator(), received_at=JAN31)  # fmt: skip
    assert req.subject_id == alice and req.state == "pending"
    assert req.due_at == datetime(2026, 2, 28, 9, tzinfo=UTC)  # Art. 12(3): a calendar month
    assert req.verification_method == "operator" and req.verified_by == "operator"
    assert get_request(vault, "acme", req.request_id) == req


def test_opendsr_id_is_kept_and_states_move_with_audit(vault, alice):
    rid = "3f1c2a9e-5b7d-4e21-9a0b-0c1d2e3f4a5b"
    req = create_request(vault, "acme", alice, "erasure", request_id=rid, channel="opendsr",
                         callbacks=["https://controller.example/cb"])  # fmt: skip
    assert req.request_id == rid and req.callbacks == ["https://controller.example/cb"]
    assert start_request(vault, "acme", rid).state == "in_progress"
    done = complete_request(vault, "acme", rid, "erased", evidence={"calls": 3})
    assert (done.state, done.outcome, done.evidence) == ("completed", "erased", {"calls": 3})
    with pytest.raises(InvalidInput):
        cancel_request(vault, "acme", rid)  # a completed request stays completed
    assert _actions(vault)[:3] == ["request.state", "request.state", "request.receive"]


def test_extension_only_inside_first_month_and_at_most_two(vault, alice):
    req = create_request(vault, "acme", alice, "access", received_at=JAN31)
    with pytest.raises(InvalidInput):
        extend_request(vault, "acme", req.request_id, months=3, reason="many records",
                       notice_at=datetime(2026, 2, 10, tzinfo=UTC))  # fmt: skip
    with pytest.raises(InvalidInput):
        extend_request(vault, "acme", req.request_id, months=2, reason="late",
                       notice_at=datetime(2026, 3, 1, tzinfo=UTC))  # fmt: skip
    out = extend_request(vault, "acme", req.request_id, months=2, reason="many records",
                         notice_at=datetime(2026, 2, 10, tzinfo=UTC))  # fmt: skip
    assert out.due_at == datetime(2026, 4, 30, 9, tzinfo=UTC) and out.extended
    assert out.extension_reason == "many records"


def test_unknown_subject_and_request(vault, alice):
    with pytest.raises(NotFound):
        create_request(vault, "acme", "nobody@acme.dk", "access")
    with pytest.raises(NotFound):
        get_request(vault, "acme", "3f1c2a9e-5b7d-4e21-9a0b-0c1d2e3f4a5b")


def test_unverified_restriction_is_refused_and_audited(vault, alice):
    bob = make_user(vault, name="Bob", email="bob@acme.dk", phone="+4522334466", extension="202")
    token_for_bob = Verification("subject_token", by=f"subject:{bob}", subject_id=bob)
    with pytest.raises(PolicyRefusal):
        restrict(vault, "acme", alice, verification=token_for_bob)
    with pytest.raises(PolicyRefusal):
        restrict(vault, "acme", alice, verification=Verification("none"))
    with vault.engine.connect() as conn:
        refused = [e for e in entries(conn, "acme") if e["outcome"] == "deny"]
    assert [e["reason"] for e in refused] == [
        "identity not verified",
        "identity verified for another subject",
    ]
    assert list_requests(vault, tenant="acme") == []  # nothing recorded or changed


def test_restrict_and_object_become_requests(vault, alice, cli_env, capsys):
    args = ["dsr", "restrict", "--tenant", "acme", "--subject", alice, "--json"]
    result = run_cli(capsys, *args, "--verified-by", "tenant-admin:hr")
    assert result.code == 0
    args = ["dsr", "object", "--tenant", "acme", "--subject", alice, "--purpose",
            "customer_service"]  # fmt: skip
    assert run_cli(capsys, *args).code == 0
    listed = run_cli(capsys, "dsr", "list", "--tenant", "acme", "--json").json()["requests"]
    assert [(r["type"], r["state"]) for r in listed] == [
        ("restriction", "completed"),
        ("objection", "completed"),
    ]
    assert listed[0]["verified_by"] == "tenant-admin:hr"
    assert listed[0]["request_id"] == result.json()["request"]


def test_overdue_request_is_flagged_and_exits_6(vault, alice, cli_env, capsys):
    create_request(vault, "acme", alice, "access", received_at=JAN31)
    assert run_cli(capsys, "dsr", "list", "--overdue", "--at", "2026-02-27").code == 0
    late = run_cli(capsys, "dsr", "list", "--overdue", "--at", "2026-03-01", "--json")
    assert late.code == 6 and "past their due date" in late.err
    assert late.json()["requests"][0]["overdue"] is True
    assert "overdue" in run_cli(capsys, "dsr", "list", "--at", "2026-03-01").out


def test_verification_recorded_later_and_refused_for_another_subject(vault, alice):
    from callvault import verify_request

    bob = make_user(vault, name="Bob", email="bob@acme.dk", phone="+4522334466", extension="202")
    req = create_request(vault, "acme", alice, "access", channel="opendsr")
    assert req.verification_method is None
    with pytest.raises(PolicyRefusal):
        verify_request(vault, "acme", req.request_id,
                       Verification("one_time_code", by="service:otp", subject_id=bob))  # fmt: skip
    assert get_request(vault, "acme", req.request_id).verification_method is None
    done = verify_request(vault, "acme", req.request_id,
                          Verification("one_time_code", by="service:otp", subject_id=alice))  # fmt: skip
    assert (done.verification_method, done.verified_by) == ("one_time_code", "service:otp")
    assert _actions(vault)[:2] == ["request.verify", "request.verify"]
