"""Scale-out readiness: every key begins with ``tenant_id``, checked on the migrated databases.

Citus distributes a table by one column and can enforce a primary key, a unique key or a foreign key
only when it contains that column; callvault's keys all *begin* with ``tenant_id`` so that each is
enforced inside one tenant's shard and a tenant's rows of every table are colocated (README,
"Running on a Citus cluster"). The schema is reflected from the databases Alembic (data) and the key
store built, not read from the metadata, so a table or index added by a migration alone is checked
too.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine, inspect

from callvault.crypto.keystore_tables import metadata as keystore_metadata
from callvault.store import connect
from callvault.store.schema.core import metadata

DISTRIBUTION_COLUMN = "tenant_id"

# Tables that hold no tenant's rows at all, so they cannot be distributed by tenant: each with why.
# On Citus they stay local to the coordinator (or become reference tables); none may reference or be
# referenced by a distributed table.
UNDISTRIBUTED = {
    "alembic_version": "Alembic's one-row record of the schema revision, not callvault data",
    "keystore_meta": "the key store's own settings (master key fingerprint); the key store is a "
    "database apart from the data and is not distributed",
}


def _engines(migrated: Any, backend: str) -> list[Engine]:
    data, keys = migrated(backend)
    return [connect(data), connect(keys)]


def _keys(engine: Engine) -> dict[str, list[tuple[str, list[str]]]]:
    """Per table: each key (primary, unique constraint, unique index, foreign key, both ends of
    it) as (what, columns)."""
    reflected = inspect(engine)
    keys: dict[str, list[tuple[str, list[str]]]] = {}
    for table in reflected.get_table_names():
        found = [("primary key", reflected.get_pk_constraint(table)["constrained_columns"])]
        found += [
            (f"unique {u['name']}", u["column_names"])
            for u in reflected.get_unique_constraints(table)
        ]
        found += [
            (f"unique index {i['name']}", list(i["column_names"]))
            for i in reflected.get_indexes(table)
            if i["unique"]
        ]
        for fk in reflected.get_foreign_keys(table):
            target = fk["referred_table"]
            found.append((f"foreign key to {target}", fk["constrained_columns"]))
            found.append((f"foreign key to {target} (referred columns)", fk["referred_columns"]))
        keys[table] = found
    return keys


def _columns(engine: Engine, table: str) -> set[str]:
    return {column["name"] for column in inspect(engine).get_columns(table)}


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_every_key_begins_with_tenant_id(migrated: Any, backend: str) -> None:
    violations = []
    for engine in _engines(migrated, backend):
        try:
            for table, keys in sorted(_keys(engine).items()):
                if table in UNDISTRIBUTED:
                    continue
                for what, columns in keys:
                    if not columns or columns[0] != DISTRIBUTION_COLUMN:
                        violations.append(f"{table}: {what} {columns}")
        finally:
            engine.dispose()
    assert violations == [], "keys not led by tenant_id:\n" + "\n".join(violations)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_undistributed_tables_hold_no_tenant_and_no_link(migrated: Any, backend: str) -> None:
    """A table left out of distribution must not be a tenant's table in disguise, nor be joined to
    one by a foreign key (Citus refuses a key between a local and a distributed table)."""
    seen = set()
    for engine in _engines(migrated, backend):
        try:
            reflected = inspect(engine)
            for table in reflected.get_table_names():
                linked = {fk["referred_table"] for fk in reflected.get_foreign_keys(table)}
                if table in UNDISTRIBUTED:
                    seen.add(table)
                    assert DISTRIBUTION_COLUMN not in _columns(engine, table), table
                    assert linked == set(), table
                else:
                    assert not linked & set(UNDISTRIBUTED), table
        finally:
            engine.dispose()
    assert seen == set(UNDISTRIBUTED)  # an exemption for a table that no longer exists is stale


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_reflection_covers_every_declared_table(migrated: Any, backend: str) -> None:
    """The reflected databases hold every table the code declares (so none escapes the check)."""
    data, keys = _engines(migrated, backend)
    try:
        assert set(metadata.tables) <= set(inspect(data).get_table_names())
        assert set(keystore_metadata.tables) <= set(inspect(keys).get_table_names())
    finally:
        data.dispose()
        keys.dispose()
