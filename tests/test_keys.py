"""Master key: creation by init, rotation without touching data, wrong keys fail loudly."""

import os
import re
import stat
from pathlib import Path

import pytest
from sqlalchemy import select

import callvault
from callvault.crypto.master_key import MasterKey
from callvault.crypto.primitives import decode_key, encode_key, new_key
from callvault.crypto.rotation import rotate_master_key
from callvault.errors import IntegrityError
from callvault.store.schema.core import subject_identifiers
from callvault.subjects.directory import find_subject, subject_identifiers_of
from callvault.vault import Vault
from clihelp import run_cli
from factories import make_tenant, make_user


def _ciphertexts(vault):
    with vault.engine.connect() as conn:
        return sorted(conn.execute(select(subject_identifiers.c.ciphertext)).scalars())


def test_init_creates_a_private_key_file(db_url, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CALLVAULT_DB", db_url)
    monkeypatch.delenv("CALLVAULT_MASTER_KEY", raising=False)
    monkeypatch.delenv("CALLVAULT_KEY_FILE", raising=False)
    assert run_cli(capsys, "init").code == 0
    key_file = tmp_path / "callvault.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    first = key_file.read_text()
    if db_url.startswith("sqlite"):
        assert stat.S_IMODE(os.stat(db_url.removeprefix("sqlite:///")).st_mode) & 0o077 == 0
    assert run_cli(capsys, "init").code == 0  # idempotent: the key is never replaced
    assert key_file.read_text() == first


def test_rotation_rewraps_keys_and_leaves_data_untouched(vault, master_key_bytes):
    make_tenant(vault)
    alice = make_user(vault)
    before = _ciphertexts(vault)
    replacement = new_key()
    counts = rotate_master_key(vault, new_key_text=encode_key(replacement))
    assert counts["data_keys"] == 1 and counts["tenant_keys"] >= 2  # + the operator's audit key
    assert _ciphertexts(vault) == before
    reopened = Vault.open(
        str(vault.engine.url.render_as_string(hide_password=False)),
        master_key=MasterKey(replacement, source="new"),
    )
    with reopened.engine.connect() as conn:
        assert find_subject(reopened, conn, "acme", "alice@acme.dk") == alice
        assert subject_identifiers_of(reopened, conn, "acme", alice)["name"] == ["Alice Andersen"]
    with pytest.raises(IntegrityError, match="not this vault's"):  # refused before any read
        Vault.open(
            str(vault.engine.url.render_as_string(hide_password=False)),
            master_key=MasterKey(master_key_bytes, source="old"),
        )


def test_cli_rotation_replaces_the_key_file(vault, cli_env, master_key_bytes, monkeypatch, capsys):
    key_file = cli_env / "callvault.key"
    fd = os.open(key_file, os.O_WRONLY | os.O_CREAT, 0o600)
    os.write(fd, encode_key(master_key_bytes).encode())
    os.close(fd)
    monkeypatch.delenv("CALLVAULT_MASTER_KEY")
    make_tenant(vault)
    make_user(vault)
    result = run_cli(capsys, "keys", "rotate", "--json")
    assert result.code == 0, result.err
    assert result.json()["data_keys"] == 1
    new = decode_key(key_file.read_text(), source="file")
    assert new != master_key_bytes
    assert not (cli_env / "callvault.key.new").exists()
    assert run_cli(capsys, "audit", "verify").code == 0
    shown = run_cli(capsys, "audit", "log", "--json", "--action", "keys.rotate").json()
    assert shown and encode_key(new) not in str(shown)


def _documented_api() -> set[str]:
    """The names in the README's "Python API" table (second column, in backticks)."""
    readme = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Python API", 1)[1].split("\n#", 1)[0]
    rows = [line.split("|")[2] for line in section.splitlines() if line.startswith("| ")]
    return {name for row in rows[1:] for name in re.findall(r"`([A-Za-z_]+)`", row)}


def test_public_api_is_what_the_readme_documents():
    documented = _documented_api()
    assert len(documented) > 50
    assert set(callvault.__all__) - documented == set(), "exported but not documented"
    assert documented - set(callvault.__all__) == set(), "documented but not exported"
    for name in callvault.__all__:
        assert hasattr(callvault, name), name


def test_public_api_has_no_gate_or_audit_bypass():
    bypasses = {"create_subject", "shred_subjects", "subject_identifiers_of", "find_subject"}
    assert bypasses & set(dir(callvault)) == set()
