"""Rectification (Art. 16) through `callvault dsr rectify`, on both databases."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from callvault import PolicyRefusal, Verification, rectify
from callvault.store.schema.core import calls, subject_identifiers
from callvault.subjects.directory import subject_identifiers_of
from clihelp import run_cli
from factories import make_call, make_external, make_tenant, make_user


@pytest.fixture
def alice(vault):
    make_tenant(vault)
    return make_user(vault)


def _values(vault, subject_id):
    with vault.engine.connect() as conn:
        return subject_identifiers_of(vault, conn, "acme", subject_id)


def _rectify(capsys, field, value, subject="alice@acme.dk"):
    return run_cli(capsys, "dsr", "rectify", "--tenant", "acme", "--subject", subject,
                   "--field", field, "--value", value, "--json")  # fmt: skip


def test_email_and_name_are_replaced_and_the_old_ones_are_gone(vault, alice, cli_env, capsys):
    with vault.engine.connect() as conn:
        old_index = conn.scalar(select(subject_identifiers.c.blind_index).where(
            subject_identifiers.c.kind == "email"))  # fmt: skip
    result = _rectify(capsys, "email", "Alice.A@Acme.dk")
    assert result.code == 0, result.err
    assert result.json()["replaced"] == 1
    assert "Alice.A" not in result.out  # never the value
    assert _rectify(capsys, "name", "Alice Aagaard", subject=alice).code == 0
    values = _values(vault, alice)
    assert values["email"] == ["Alice.A@Acme.dk"] and values["name"] == ["Alice Aagaard"]
    args = ["dsr", "restrict", "--tenant", "acme", "--json", "--subject"]
    assert run_cli(capsys, *args, "alice@acme.dk").code == 4  # the old e-mail finds nobody
    assert run_cli(capsys, *args, "alice.a@acme.dk").json()["subject"] == alice
    with vault.engine.connect() as conn:
        held = conn.scalars(select(subject_identifiers.c.blind_index)).all()
    assert old_index not in held
    listed = run_cli(capsys, "dsr", "list", "--json").json()["requests"]
    rectified = [r for r in listed if r["type"] == "rectification"]
    assert [r["state"] for r in rectified] == ["completed", "completed"]
    assert rectified[0]["evidence"]["art19"]["recipient"] == "controller"


def test_another_users_email_is_refused(vault, alice, cli_env, capsys):
    make_user(vault, name="Bob", email="bob@acme.dk", phone="+4522334466", extension="202")
    assert _rectify(capsys, "email", "bob@acme.dk").code == 5
    assert _rectify(capsys, "phone", "+4522334466").code == 5
    assert _rectify(capsys, "phone", "12").code == 5
    assert _rectify(capsys, "extension", "9").code == 5
    assert _values(vault, alice)["email"] == ["alice@acme.dk"]


def test_a_callers_number_keeps_its_earlier_calls(vault, alice, cli_env, capsys):
    caller = make_external(vault, phone="+4540404040")
    earlier = datetime.now(UTC) - timedelta(days=2)
    make_call(vault, caller_id=caller, callee_id=alice, started_at=earlier)
    assert _rectify(capsys, "phone", "+45 40 40 40 40").code == 0
    assert _values(vault, alice)["phone"] == ["+45 40 40 40 40"]
    with vault.engine.connect() as conn:
        since = conn.scalar(select(subject_identifiers.c.since).where(
            subject_identifiers.c.subject_id == alice, subject_identifiers.c.kind == "phone"))  # fmt: skip
        kept = conn.scalar(select(func.count()).where(calls.c.caller_subject_id == caller))
    assert since is not None and since > earlier  # the number is hers from now
    assert kept == 1  # the previous holder's call stays his (Art. 5(1)(d))
    found = run_cli(capsys, "dsr", "restrict", "--tenant", "acme", "--json", "--subject",
                    "+4540404040")  # fmt: skip
    assert found.json()["subject"] == alice
    assert run_cli(capsys, "dsr", "restrict", "--tenant", "acme", "--subject",
                   "+4522334455").code == 4  # fmt: skip


def test_unverified_rectification_is_refused(vault, alice):
    with pytest.raises(PolicyRefusal):
        rectify(vault, "acme", alice, "name", "X", verification=Verification("none"))
    assert _values(vault, alice)["name"] == ["Alice Andersen"]
