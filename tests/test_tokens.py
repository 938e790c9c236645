"""Bearer tokens: printed once, stored only as a hash, revocable, bound to a tenant and a role."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import select

from callvault import Unauthenticated, audit_entries, authenticate
from callvault.store.schema.tokens import api_tokens
from clihelp import run_cli
from factories import make_tenant, make_user


def test_token_create_prints_once_and_stores_a_hash(cli_env, vault, capsys) -> None:  # type: ignore[no-untyped-def]
    make_tenant(vault, "acme")
    made = run_cli(capsys, "token", "create", "--tenant", "acme", "--role", "service",
                   "--name", "crm", "--purpose", "personalisation")  # fmt: skip
    assert made.code == 0, made.err
    token = made.out.strip()
    assert token.startswith("cv_") and "token id" in made.err
    with vault.engine.connect() as conn:
        row = conn.execute(select(api_tokens)).one()
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in str(tuple(row))
    who = authenticate(vault, token)
    assert (who.actor, who.purposes, who.tenant_id) == ("service:crm", ("personalisation",), "acme")
    created = audit_entries(vault, "acme", action="token.create")[0]
    assert created["details"]["for"] == "service:crm" and token not in str(created)
    revoked = run_cli(capsys, "token", "revoke", row.token_id)
    assert revoked.code == 0
    with pytest.raises(Unauthenticated):
        authenticate(vault, token)
    assert (
        audit_entries(vault, "acme", action="token.revoke")[0]["details"]["token_id"]
        == row.token_id
    )


def test_token_refusals(cli_env, vault, capsys) -> None:  # type: ignore[no-untyped-def]
    make_tenant(vault, "acme")
    alice = make_user(vault, "acme")
    cases = [
        (["--tenant", "acme", "--role", "root"], 5),
        (["--tenant", "acme", "--role", "service"], 2),  # a service needs its purposes
        (["--tenant", "acme", "--role", "service", "--purpose", "nosuch"], 5),
        (["--tenant", "acme", "--role", "tenant_admin", "--purpose", "personalisation"], 2),
        (["--tenant", "acme", "--role", "subject"], 2),
        (["--tenant", "nosuch", "--role", "tenant_admin"], 4),
        (["--tenant", "acme", "--role", "operator_admin"], 2),
        (["--tenant", "acme", "--role", "subject", "--subject", "nobody@acme.dk"], 4),
    ]
    for args, code in cases:
        result = run_cli(capsys, "token", "create", *args)
        assert result.code == code, (args, result.err)
        assert "nobody" not in result.err
    subject = run_cli(capsys, "token", "create", "--tenant", "acme", "--role", "subject",
                      "--subject", "alice@acme.dk", "--json")  # fmt: skip
    assert subject.json()["actor"] == f"subject:{alice}"
    operator = run_cli(capsys, "token", "create", "--role", "operator_admin", "--name", "ops")
    assert authenticate(vault, operator.out.strip()).actor == "operator:ops"
    assert run_cli(capsys, "token", "revoke", "0" * 32).code == 4


def test_authenticate_refuses_nothing_and_garbage(vault) -> None:  # type: ignore[no-untyped-def]
    for token in (None, "", "Bearer x", "cv_unknown"):
        with pytest.raises(Unauthenticated):
            authenticate(vault, token)
