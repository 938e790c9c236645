"""The migration history is one line, and `callvault init` upgrades a vault made by an older revision
with its data intact, on SQLite and on PostgreSQL."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, insert, select, text
from sqlalchemy.engine import make_url

from callvault.accountability.audit import verify
from callvault.clock import utcnow
from callvault.crypto.primitives import encode_key
from callvault.store import connect, migrate
from callvault.store.audit_chain import AuditEntry
from callvault.store.database import revisions
from callvault.store.schema.core import calls, tenants
from callvault.subjects.directory import create_subject, find_subject
from callvault.tenants import get_tenant
from callvault.vault import Vault
from clihelp import run_cli
from conftest import PG_URL, REQUIRE_PG
from factories import make_call


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


def test_init_upgrades_a_vault_of_the_first_revision(
    blank_url, master_key, master_key_bytes, capsys, monkeypatch
):  # type: ignore[no-untyped-def]
    engine = connect(blank_url)
    migrate(engine, revisions()[0])
    engine.dispose()
    assert _revision(blank_url) == revisions()[0]
    old = Vault.open(blank_url, master_key=master_key)
    _first_revision_tenant(old)
    with old.transaction() as conn:  # region given: revision 0001 has no tenants.country
        values = {"email": ["alice@acme.dk"], "phone": ["+4522334455"]}
        alice = create_subject(old, conn, "acme", kind="user", values=values, now=utcnow(),
                               region="DK")  # fmt: skip
        caller = create_subject(old, conn, "acme", kind="external",
                                values={"phone": ["+4540404040"]}, now=utcnow(), region="DK")  # fmt: skip
    make_call(old, caller_id=caller, callee_id=alice)
    old.close()

    monkeypatch.setenv("CALLVAULT_DB", blank_url)
    monkeypatch.setenv("CALLVAULT_MASTER_KEY", encode_key(master_key_bytes))
    assert run_cli(capsys, "init").code == 0

    assert _revision(blank_url) == revisions()[-1]
    vault = Vault.open(blank_url, master_key=master_key)
    with vault.engine.connect() as conn:
        assert find_subject(vault, conn, "acme", "alice@acme.dk") == alice
        assert get_tenant(conn, "acme").country is None  # read as the operator's country:
        assert find_subject(vault, conn, "acme", "22 33 44 55") == alice  # national, as before
        assert len(conn.execute(select(calls)).all()) == 1
        assert verify(conn).ok
    vault.close()


def _first_revision_tenant(vault: Vault) -> None:
    """Tenant acme as revision 0001 stored it: the columns of that revision only."""
    now = utcnow()
    with vault.transaction() as conn:
        conn.execute(
            insert(tenants).values(
                tenant_id="acme", name="Acme ApS", collect=["user.contact.phone_number",
                "user.contact.email", "user.behavior.call_history"], retention={}, created_at=now,
            )
        )  # fmt: skip
        vault.keyring.create_tenant_keys(conn, "acme", now)
        vault.audit(conn, "acme", AuditEntry(actor="operator", action="tenant.add"))
