"""Policy versions: loading keeps the old ones, the newest is in force, consents follow fingerprints."""

import yaml

from callvault.consent.acts import give_consent, subject_consents
from callvault.policy.loader import default_policy_text
from callvault.vault import Vault
from clihelp import run_cli
from factories import make_tenant, make_user


def _version(tmp_path, version: str, change=None):
    doc = yaml.safe_load(default_policy_text())
    doc["version"] = version
    if change:
        change(doc)
    path = tmp_path / f"policy-{version}.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def _new_text(doc):
    doc["purposes"]["personalisation"]["text"] = "Personalisation, now including call transcripts."


def test_load_keeps_old_versions_and_puts_the_newest_in_force(vault, cli_env, capsys, master_key):
    first = run_cli(capsys, "policy", "load", str(_version(cli_env, "2027-01-01")), "--json")
    assert first.code == 0, first.err
    second = run_cli(capsys, "policy", "load", str(_version(cli_env, "2027-02-01")))
    assert second.code == 0, second.err
    listed = run_cli(capsys, "policy", "versions", "--json").json()
    assert [v["version"] for v in listed] == ["2027-01-01", "2027-02-01"]
    reopened = Vault.open(str(vault.engine.url.render_as_string(False)), master_key=master_key)
    assert reopened.policy.version == "2027-02-01"
    reopened.close()
    same_version = run_cli(
        capsys, "policy", "load", str(_version(cli_env, "2027-02-01", _new_text))
    )
    assert same_version.code == 5 and "already stored" in same_version.err


def test_unlawful_policy_is_not_loaded(vault, cli_env, capsys):
    flawed = _version(
        cli_env, "2027-03-01", lambda d: d["consent"].__setitem__("implied_by_use", True)
    )
    result = run_cli(capsys, "policy", "load", str(flawed))
    assert result.code == 5 and "Art. 4(11)" in result.err
    assert run_cli(capsys, "policy", "versions", "--json").json() == []


def test_policy_change_invalidates_consent_for_changed_purposes_only(
    vault, cli_env, capsys, master_key
):
    make_tenant(vault)
    alice = make_user(vault)
    give_consent(vault, "acme", alice, "personalisation", actor=f"subject:{alice}")
    url = vault.engine.url.render_as_string(False)

    def changed(doc):
        _new_text(doc)
        doc["purposes"]["customer_service"]["text"] = "Improving support (reworded)."

    path = _version(cli_env, "2027-04-01", changed)
    loaded = run_cli(capsys, "policy", "load", str(path), "--json")
    assert loaded.json()["changed_purposes"] == ["customer_service", "personalisation"]
    newer = Vault.open(url, master_key=master_key)
    state = subject_consents(newer, "acme", alice)["purposes"]["personalisation"]
    assert state == {
        "valid": False,
        "reason": "consent predates policy version 2027-04-01",
        "record_id": state["record_id"],
    }
    give_consent(newer, "acme", alice, "personalisation", actor=f"subject:{alice}")
    assert subject_consents(newer, "acme", alice)["purposes"]["personalisation"]["valid"]
    newer.close()


def test_unchanged_purpose_keeps_its_consent_across_versions(vault, cli_env, capsys, master_key):
    make_tenant(vault)
    alice = make_user(vault)
    give_consent(vault, "acme", alice, "personalisation", actor=f"subject:{alice}")
    reworded = _version(
        cli_env,
        "2027-05-01",
        lambda d: d["purposes"]["customer_service"].__setitem__("text", "New."),
    )
    assert run_cli(capsys, "policy", "load", str(reworded)).code == 0
    newer = Vault.open(vault.engine.url.render_as_string(False), master_key=master_key)
    assert newer.policy.version == "2027-05-01"
    assert subject_consents(newer, "acme", alice)["purposes"]["personalisation"]["valid"]
    newer.close()
