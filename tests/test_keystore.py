"""Keys kept apart from the data: shredding reaches backups; the master key is checked; rotation
survives a kill at every step (issue 11), on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from callvault.clock import parse_instant
from callvault.crypto.master_key import MasterKey
from callvault.crypto.primitives import decode_key, encode_key
from callvault.errors import IntegrityError
from callvault.retention.run import run_retention
from callvault.store import connect
from callvault.subjects.directory import find_subject, subject_identifiers_of
from callvault.vault import Vault
from conftest import PG_URL
from factories import make_call, make_external, make_tenant, make_user

CALLVAULT = str(Path(sys.executable).with_name("callvault"))
AS_OF = parse_instant("2027-06-01", field="as_of")
OLD = "2026-06-01T09:15:00+00:00"  # past the call-record period at AS_OF
GONE, KEPT = "+4531415926", "+4540404040"


def _plain(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _backup(url: str, tmp_path: Path) -> Path:
    """A copy of the data database as an operator would take it (file copy / pg_dump)."""
    target = tmp_path / "backup"
    if url.startswith("sqlite"):
        engine = connect(url)
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        engine.dispose()
        shutil.copyfile(make_url(url).database, target)  # type: ignore[arg-type]
    else:
        dump = subprocess.run(["pg_dump", "-Fc", _plain(url)], check=True, capture_output=True)
        target.write_bytes(dump.stdout)
    return target


def _restore(backup: Path, url: str, tmp_path: Path) -> str:
    """The backup restored as a database of its own; its URL."""
    if url.startswith("sqlite"):
        restored = tmp_path / "restored.db"
        shutil.copyfile(backup, restored)
        return f"sqlite:///{restored}"
    name = f"callvault_restored_{os.getpid()}"
    admin = create_engine(make_url(PG_URL).set(drivername="postgresql+psycopg"),
                          isolation_level="AUTOCOMMIT")  # fmt: skip
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    restored = make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    subprocess.run(["pg_restore", "--no-owner", "-d", _plain(restored), str(backup)], check=True)
    return restored


def test_a_restored_backup_cannot_decrypt_what_retention_shredded(vault, master_key, tmp_path):
    make_tenant(vault)
    alice = make_user(vault)
    gone, kept = make_external(vault, phone=GONE), make_external(vault, phone=KEPT)
    make_call(vault, caller_id=gone, callee_id=alice, started_at=OLD)
    make_call(vault, caller_id=kept, callee_id=alice, started_at="2027-05-30T10:00:00+00:00")
    backup = _backup(str(vault.engine.url.render_as_string(hide_password=False)), tmp_path)

    report = run_retention(vault, as_of=AS_OF)
    assert report.counts["acme"]["call_record"]["externals_shredded"] == 1
    url = vault.engine.url.render_as_string(hide_password=False)
    restored_url = _restore(backup, url, tmp_path)
    restored = Vault.open(restored_url, master_key=master_key)
    try:
        with restored.engine.connect() as conn:
            # The restored copy still holds the shredded caller's ciphertext and blind index...
            assert find_subject(restored, conn, "acme", GONE) == gone
            # ...but its data key is gone from the key store: nothing decrypts.
            with pytest.raises(IntegrityError, match="destroyed"):
                subject_identifiers_of(restored, conn, "acme", gone)
            assert subject_identifiers_of(restored, conn, "acme", kept)["phone"] == [KEPT]
            assert subject_identifiers_of(restored, conn, "acme", alice)["name"] == [
                "Alice Andersen"
            ]
    finally:
        restored.close()
        _drop(restored_url)


def _drop(url: str) -> None:
    if url.startswith("sqlite"):
        return
    admin = create_engine(make_url(PG_URL).set(drivername="postgresql+psycopg"),
                          isolation_level="AUTOCOMMIT")  # fmt: skip
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))
    admin.dispose()


def test_another_master_key_is_refused_before_anything_is_read(vault, db_url, cli_env, capsys):
    from callvault.crypto.primitives import new_key
    from clihelp import run_cli

    make_tenant(vault)
    os.environ["CALLVAULT_MASTER_KEY"] = encode_key(new_key())
    result = run_cli(capsys, "tenant", "show", "acme", "--json")
    assert result.code == 6 and "not this vault's" in result.err


def _cli(*args: str, fault: str | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env.pop("CALLVAULT_FAULT", None)
    if fault:
        env["CALLVAULT_FAULT"] = f"rotate:{fault}"
    return subprocess.run([CALLVAULT, *args], env=env, capture_output=True, text=True, timeout=120)


def _opens(url: str, key_file: Path) -> bool:
    try:
        key = MasterKey(decode_key(key_file.read_text(), source=str(key_file)), source="probe")
        probe = Vault.open(url, master_key=key)
    except IntegrityError:
        return False
    try:
        with probe.engine.connect() as conn:
            found = find_subject(probe, conn, "acme", "alice@acme.dk")
            assert subject_identifiers_of(probe, conn, "acme", found)["name"] == ["Alice Andersen"]
    finally:
        probe.close()
    return True


@pytest.mark.parametrize("step", ["written", "pending", "rewrapped", "audited"])
def test_rotation_killed_at_any_step_leaves_exactly_one_working_key(
    vault, db_url, cli_env, master_key_bytes, monkeypatch, step
):  # type: ignore[no-untyped-def]
    if db_url.startswith("sqlite"):  # files of its own: processes are killed around them
        db_url = f"sqlite:///{cli_env / 'own.db'}"
        monkeypatch.setenv("CALLVAULT_DB", db_url)
        monkeypatch.setenv("CALLVAULT_KEYSTORE", f"sqlite:///{cli_env / 'own-keys.db'}")
        vault = Vault.open(db_url, master_key=MasterKey(master_key_bytes, source="t"), create=True)
    make_tenant(vault)
    make_user(vault)
    monkeypatch.delenv("CALLVAULT_MASTER_KEY")
    key_file = cli_env / "callvault.key"
    key_file.write_text(encode_key(master_key_bytes) + "\n")
    key_file.chmod(0o600)
    pending = cli_env / "callvault.key.new"

    killed = _cli("keys", "rotate", fault=step)
    assert killed.returncode == -9, killed.stderr
    old_works = _opens(db_url, key_file)
    new_works = pending.exists() and _opens(db_url, pending)
    assert old_works != new_works  # exactly one of the two keys opens the vault, nothing lost

    if pending.exists():  # killed after .new was whole: never run over, resolved as told
        refused = _cli("keys", "rotate")
        assert refused.returncode in (1, 6) and str(pending) in refused.stderr
        if new_works:
            assert "move it over" in refused.stderr
            os.replace(pending, key_file)
        else:
            assert "remove" in refused.stderr
            pending.unlink()
    finished = _cli("keys", "rotate")
    assert finished.returncode == 0, finished.stderr
    assert _opens(db_url, key_file) and not pending.exists()
    assert _cli("audit", "verify").returncode == 0


def test_a_process_open_during_a_rotation_cannot_wrap_keys_with_the_old_key(
    vault, db_url, master_key
):  # type: ignore[no-untyped-def]
    """Review finding: a vault opened before a rotation elsewhere must not store keys wrapped by
    the dead key (a tenant's data would be unreadable for good)."""
    from callvault.crypto.primitives import new_key
    from callvault.crypto.rotation import rotate_master_key
    from callvault.errors import ConfigError

    make_tenant(vault)
    make_user(vault)
    elsewhere = Vault.open(db_url, master_key=master_key)
    replacement = new_key()
    rotate_master_key(elsewhere, new_key_text=encode_key(replacement))
    with pytest.raises(ConfigError, match="rotated by another process"):
        make_tenant(vault, "globex")  # its first user would mint a tenant key under the old key
        make_user(vault, "globex", email="g@globex.dk", phone="+4522339999", extension="301")
    fresh = Vault.open(db_url, master_key=MasterKey(replacement, source="new"))
    make_user(fresh, "globex", email="g@globex.dk", phone="+4522339999", extension="301")
    with fresh.engine.connect() as conn:
        found = find_subject(fresh, conn, "globex", "g@globex.dk")
        assert subject_identifiers_of(fresh, conn, "globex", found)["email"] == ["g@globex.dk"]
    fresh.close()
    elsewhere.close()
