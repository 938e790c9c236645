"""Storage invariants: migrations match the schema; tenant_id leads every key; nothing in clear."""

import os
import subprocess
import sys
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import select

from callvault.store.schema.core import metadata, subject_identifiers, subjects
from factories import make_call, make_external, make_tenant, make_user

SECRETS = ["Alice Andersen", "alice@acme.dk", "4522334455", "4540404040", "Bob Berg", "bob@acme.dk"]


def test_migrations_create_exactly_the_schema(vault):
    with vault.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == []


def test_every_primary_key_begins_with_tenant_id():
    for table in metadata.sorted_tables:
        assert next(iter(table.primary_key.columns)).name == "tenant_id", table.name


def _populate(vault):
    make_tenant(vault)
    alice = make_user(vault)
    bob = make_user(
        vault, name="Bob Berg", email="bob@acme.dk", phone="+4522334466", extension="202"
    )
    caller = make_external(vault)
    make_call(vault, caller_id=caller, callee_id=alice)
    make_call(vault, caller_id=bob, callee_id=alice, direction="internal")


def _dump(vault) -> bytes:
    url = vault.engine.url
    if url.get_backend_name() == "sqlite":
        vault.engine.dispose()  # checkpoint the WAL into the file
        files = [Path(url.database), Path(url.database + "-wal")]
        return b"".join(f.read_bytes() for f in files if f.exists())
    plain = url.set(drivername="postgresql").render_as_string(hide_password=False)
    return subprocess.run(["pg_dump", "--data-only", plain], check=True, capture_output=True).stdout


def test_no_identifier_is_stored_in_clear(vault):
    _populate(vault)
    dump = _dump(vault)
    assert b"Andersen" not in dump  # sanity: the dump is the real thing, yet holds no secret
    for secret in SECRETS:
        assert secret.encode() not in dump, secret
        assert secret.lower().encode() not in dump.lower()


def test_identifiers_are_ciphertext_bound_to_their_row(vault):
    _populate(vault)
    with vault.engine.connect() as conn:
        rows = conn.execute(select(subject_identifiers.c.ciphertext)).scalars().all()
        ids = conn.execute(select(subjects.c.subject_id)).scalars().all()
    assert rows and all(len(c) > 28 for c in rows)  # nonce + tag + data
    deks = vault.keyring.keystore.wrapped_deks("acme", ids)  # kept apart from the data
    assert len(deks) == len(ids) and len(set(deks.values())) == len(ids)
    assert "wrapped_dek" not in subjects.c


def test_ci_requires_postgresql(tmp_path):
    """With CALLVAULT_REQUIRE_PG=1 an unreachable server fails the run instead of skipping."""
    probe = tmp_path / "test_probe.py"
    probe.write_text("def test_pg(vault):\n    assert vault\n")
    env = dict(
        os.environ, CALLVAULT_REQUIRE_PG="1", CALLVAULT_TEST_PG="postgresql://nobody@127.0.0.1:1/x"
    )
    conftest = os.path.join(os.path.dirname(__file__), "conftest.py")
    (tmp_path / "conftest.py").write_text(Path(conftest).read_text())
    (tmp_path / "factories.py").write_text("")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(probe)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0
    assert "PostgreSQL required" in result.stdout
