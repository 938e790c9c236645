"""Tenants through the CLI, on both databases."""

import pytest

from clihelp import run_cli

ADD = ["tenant", "add", "acme", "--name", "Acme ApS"]


@pytest.fixture
def initialised(cli_env, capsys):
    assert run_cli(capsys, "init").code == 0
    return cli_env


def test_add_and_show_json(initialised, capsys):
    result = run_cli(
        capsys,
        *ADD,
        "--collect",
        "name,phone,call_history",
        "--agreement",
        "SSA-7",
        "--from",
        "2026-01-01",
        "--to",
        "2027-01-01",
        "--retention",
        "call_record=P30D",
    )
    assert result.code == 0, result.err
    shown = run_cli(capsys, "tenant", "show", "acme", "--json").json()
    assert shown["id"] == "acme" and shown["name"] == "Acme ApS"
    assert shown["collect"] == [
        "user.behavior.call_history",
        "user.contact.phone_number",
        "user.name",
    ]
    assert shown["agreement"]["id"] == "SSA-7"
    assert shown["retention"]["call_record"] == "P30D"
    assert shown["retention"]["voicemail"] == "P30D"
    assert shown["counts"] == {"subjects": 0, "calls": 0, "voicemails": 0, "statistics": 0}


def test_unknown_category_is_invalid_input(initialised, capsys):
    result = run_cli(capsys, *ADD, "--collect", "name,user.contact.national_id")
    assert result.code == 5
    assert "user.contact.national_id" in result.err
    assert run_cli(capsys, "tenant", "show", "acme").code == 4


def test_longer_retention_is_refused(initialised, capsys):
    result = run_cli(capsys, *ADD, "--collect", "phone", "--retention", "voicemail=P60D")
    assert result.code == 5
    assert "voicemail" in result.err and "P60D" in result.err


def test_duplicate_tenant_is_refused(initialised, capsys):
    assert run_cli(capsys, *ADD, "--collect", "phone").code == 0
    assert run_cli(capsys, *ADD, "--collect", "phone").code == 5


def test_missing_tenant_is_not_found(initialised, capsys):
    result = run_cli(capsys, "tenant", "show", "nobody")
    assert result.code == 4
    assert result.err.startswith("error: ")


def test_bad_retention_syntax_is_usage_error(initialised, capsys):
    assert run_cli(capsys, *ADD, "--collect", "phone", "--retention", "P30D").code == 2


def test_adding_a_tenant_is_audited(initialised, capsys):
    run_cli(capsys, *ADD, "--collect", "phone")
    entries = run_cli(capsys, "audit", "log", "--json", "--tenant", "acme").json()
    assert entries[0]["action"] == "tenant.add"


@pytest.mark.parametrize(
    ("options", "named"),
    [
        (["--name", " ", "--collect", "phone"], "name"),
        (["--name", "X", "--collect", ""], "collect"),
    ],
)
def test_empty_name_or_profile_is_invalid(initialised, capsys, options, named):
    result = run_cli(capsys, "tenant", "add", "empty", *options)
    assert result.code == 5
    assert named in result.err
