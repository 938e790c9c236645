"""The disclosure gate: the subject and its controller only; third parties refused, no file."""

import json
import stat

import pytest

from callvault.accountability.audit import entries
from callvault.processing.gate import NO_THIRD_PARTIES
from clihelp import run_cli
from factories import make_call, make_external, make_tenant, make_user


@pytest.fixture
def acme(vault):
    make_tenant(vault)
    alice = make_user(vault)
    make_call(vault, caller_id=make_external(vault), callee_id=alice)
    return alice


def _disclose(capsys, to, out):
    return run_cli(
        capsys,
        "disclose",
        "--tenant",
        "acme",
        "--subject",
        "alice@acme.dk",
        "--to",
        to,
        "--out",
        str(out),
    )


@pytest.mark.parametrize("recipient", ["subject", "controller"])
def test_export_to_allowed_recipient(vault, acme, cli_env, capsys, recipient):
    out = cli_env / "alice.json"
    result = _disclose(capsys, recipient, out)
    assert result.code == 0, result.err
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    document = json.loads(out.read_text())
    assert document["subject"] == acme and document["recipient"] == recipient
    assert document["profile"]["email"] == ["alice@acme.dk"]
    assert document["calls"][0]["other_party"] == "+4540404040"


def test_third_party_is_refused_without_a_file(vault, acme, cli_env, capsys):
    out = cli_env / "leak.json"
    result = _disclose(capsys, "third_party:acme-marketing", out)
    assert result.code == 3
    assert NO_THIRD_PARTIES in result.err
    assert not out.exists() and list(cli_env.iterdir()) == []
    with vault.engine.connect() as conn:
        (entry,) = entries(conn, "acme", action="disclose")
    # Recorded by kind only: a refused recipient may be a person's address (finding 3).
    assert entry["outcome"] == "deny" and entry["details"]["recipient"] == "third_party"


def test_another_tenants_controller_is_a_third_party(vault, acme, cli_env, capsys):
    assert _disclose(capsys, "controller:globex", cli_env / "x.json").code == 3
    assert not (cli_env / "x.json").exists()


def test_out_must_be_a_new_file(vault, acme, cli_env, capsys):
    """Finding 7: a directory or an existing file is refused with exit 5 naming --out."""
    directory = _disclose(capsys, "subject", cli_env)
    assert directory.code == 5 and "--out" in directory.err and "directory" in directory.err
    existing = cli_env / "old.json"
    existing.write_text("keep me")
    again = _disclose(capsys, "subject", existing)
    assert again.code == 5 and "--out" in again.err and "exists" in again.err
    assert existing.read_text() == "keep me"
    with vault.engine.connect() as conn:
        assert list(entries(conn, "acme", action="disclose")) == []
