"""The migration history is one line, and `callvault init` upgrades a vault made by an older revision
with its data intact, on SQLite and on PostgreSQL."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, select, text
from sqlalchemy.engine import make_url

from callvault.crypto.master_key import MasterKey
from callvault.crypto.primitives import encode_key, new_key
from callvault.store import connect, migrate
from callvault.store.database import revisions
from callvault.store.schema.core import calls, subjects, tenants
from callvault.tenants import get_tenant
from callvault.vault import Vault
from clihelp import run_cli
from conftest import PG_URL, REQUIRE_PG


def test_history_is_one_line():
    history = revisions()
    assert history[0] == "0001"
    assert len(history) == len(set(history))


@pytest.fixture(params=["sqlite", "postgresql"])
def blank_url(request, tmp_path) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """An empty database of its own: this test builds the schema revision by revision."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'old.db'}"
        return
    name = f"callvault_mig_{secrets.token_hex(4)}"
    admin = create_engine(make_url(PG_URL).set(drivername="postgresql+psycopg"),
                          isolation_level="AUTOCOMMIT")  # fmt: skip
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        admin.dispose()
        if REQUIRE_PG:
            pytest.fail(f"PostgreSQL required but unreachable: {exc}")
        pytest.skip(f"PostgreSQL unreachable: {exc}")
    yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _revision(url: str) -> str | None:
    engine = connect(url)
    with engine.connect() as conn:
        current = MigrationContext.configure(conn).get_current_revision()
    engine.dispose()
    return current


# Rows as revision 0001 stores them, written in its own column names (not through today's code).
FIRST_REVISION_ROWS = [
    "INSERT INTO tenants (tenant_id, name, collect, retention, created_at) VALUES "
    "('acme', 'Acme ApS', '[\"user.name\"]', '{}', '2026-11-01 10:00:00')",
    "INSERT INTO tenant_keys (tenant_id, purpose, wrapped_key, created_at) VALUES "
    "('acme', 'blind_index', :wrapped, '2026-11-01 10:00:00')",
    "INSERT INTO subjects (tenant_id, subject_id, kind, wrapped_dek, created_at, updated_at) "
    "VALUES ('acme', 's1', 'user', :dek, '2026-11-01 10:00:00', '2026-11-01 10:00:00')",
    "INSERT INTO calls (tenant_id, call_id, source_key, started_at, duration_s, billsec_s, "
    "direction, outcome, callee_subject_id, created_at) VALUES ('acme', 'c1', :key, "
    "'2026-11-01 10:00:00', 60, 55, 'inbound', 'answered', 's1', '2026-11-01 10:00:00')",
]


def test_init_upgrades_a_vault_of_the_first_revision(blank_url, master_key_bytes, capsys,
                                                      monkeypatch, tmp_path):  # type: ignore[no-untyped-def]  # fmt: skip
    index_key = new_key()
    wrapped = MasterKey(master_key_bytes, source="test").wrap(
        index_key, b"tenant-key|acme|blind_index"
    )
    engine = connect(blank_url)
    migrate(engine, revisions()[0])
    with engine.begin() as conn:
        for statement in FIRST_REVISION_ROWS:
            conn.execute(
                text(statement), {"dek": b"\x01" * 60, "key": b"\x02" * 16, "wrapped": wrapped}
            )
    engine.dispose()
    assert _revision(blank_url) == revisions()[0]

    monkeypatch.setenv("CALLVAULT_DB", blank_url)
    monkeypatch.setenv("CALLVAULT_MASTER_KEY", encode_key(master_key_bytes))
    monkeypatch.setenv("CALLVAULT_KEYSTORE", f"sqlite:///{tmp_path / 'keys.db'}")
    assert run_cli(capsys, "init").code == 0

    assert _revision(blank_url) == revisions()[-1]
    engine = connect(blank_url)
    with engine.connect() as conn:
        assert conn.execute(select(tenants.c.name)).scalars().all() == ["Acme ApS"]
        assert conn.execute(select(subjects.c.subject_id)).scalars().all() == ["s1"]
        call = conn.execute(select(calls)).one()
        assert (call.call_id, call.duration_s, call.callee_subject_id) == ("c1", 60, "s1")
        assert not inspect(conn).has_table("tenant_keys")  # the wrapped key left the data
        assert get_tenant(conn, "acme").country is None  # read as the operator's country
    engine.dispose()
    vault = Vault.open(blank_url, master_key=MasterKey(master_key_bytes, source="test"))
    assert vault.keyring.tenant_key(None, "acme", "blind_index") == index_key  # moved, not lost
    assert vault.keyring.keystore.wrapped_deks("acme", ["s1"]) == {"s1": b"\x01" * 60}
    vault.close()


def test_init_refuses_a_master_key_that_does_not_open_the_old_keys(
    blank_url, master_key_bytes, capsys, monkeypatch, tmp_path
):  # type: ignore[no-untyped-def]
    """Review finding: upgrading with the wrong key must not bind the key store to it."""
    wrapped = MasterKey(master_key_bytes, source="test").wrap(
        new_key(), b"tenant-key|acme|blind_index"
    )
    engine = connect(blank_url)
    migrate(engine, revisions()[0])
    with engine.begin() as conn:
        for statement in FIRST_REVISION_ROWS[:2]:
            conn.execute(text(statement), {"wrapped": wrapped})
    engine.dispose()
    monkeypatch.setenv("CALLVAULT_DB", blank_url)
    monkeypatch.setenv("CALLVAULT_KEYSTORE", f"sqlite:///{tmp_path / 'keys.db'}")
    monkeypatch.setenv("CALLVAULT_MASTER_KEY", encode_key(new_key()))  # not the vault's key
    result = run_cli(capsys, "init")
    assert result.code == 6 and "does not open" in result.err
    assert _revision(blank_url) == revisions()[0]  # nothing migrated
    monkeypatch.setenv("CALLVAULT_MASTER_KEY", encode_key(master_key_bytes))
    assert run_cli(capsys, "init").code == 0  # the right key still works afterwards
