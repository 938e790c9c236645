"""Fixtures: every storage test runs on SQLite and on PostgreSQL in the same run.

PostgreSQL comes from ``CALLVAULT_TEST_PG`` (default: the local server's ``test`` database). Each test
run creates its own database there, so parallel runs never see each other's rows, and drops it at the
end. With ``CALLVAULT_REQUIRE_PG=1`` (CI) an unreachable server fails the run instead of skipping.
"""

from __future__ import annotations

import os
import secrets
import sys
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import create_engine, delete, text
from sqlalchemy.engine import make_url

from callvault.crypto.keystore import KeyStore
from callvault.crypto.keystore import metadata as keystore_metadata
from callvault.crypto.master_key import MasterKey
from callvault.crypto.primitives import encode_key, new_key
from callvault.store import connect, migrate, sqlalchemy_url
from callvault.store.schema.core import metadata
from callvault.vault import Vault

PG_URL = os.environ.get("CALLVAULT_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
REQUIRE_PG = os.environ.get("CALLVAULT_REQUIRE_PG") == "1"


def _admin_engine():  # type: ignore[no-untyped-def]
    return create_engine(sqlalchemy_url(PG_URL), isolation_level="AUTOCOMMIT")


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test run."""
    yield from _pg_database("callvault_test")


@pytest.fixture(scope="session")
def pg_keystore_url() -> Iterator[str]:
    """A second fresh PostgreSQL database: the key store lives apart from the data."""
    yield from _pg_database("callvault_keys")


def _pg_database(prefix: str) -> Iterator[str]:
    name = f"{prefix}_{os.getpid()}_{secrets.token_hex(4)}"
    admin = _admin_engine()
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        admin.dispose()
        if REQUIRE_PG:
            pytest.fail(f"PostgreSQL required (CALLVAULT_REQUIRE_PG=1) but unreachable: {exc}")
        pytest.skip(f"PostgreSQL unreachable: {exc}")
    url = make_url(sqlalchemy_url(PG_URL)).set(database=name).render_as_string(hide_password=False)
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def fresh_pg_vault(tmp_path, master_key: MasterKey) -> Iterator[Vault]:
    """A vault in a PostgreSQL database of its own, made for the test: its tables have never been
    analysed, as in a new deployment, so the planner works from its default estimates."""
    for url in _pg_database("callvault_fresh"):
        engine = connect(url)
        migrate(engine)
        engine.dispose()
        keys = f"sqlite:///{tmp_path / 'keys.db'}"
        vault = Vault.open(url, master_key=master_key, keystore=keys)
        yield vault
        vault.close()


@pytest.fixture(scope="session")
def sqlite_session_dir(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    return tmp_path_factory.mktemp("sqlite")


@pytest.fixture(scope="session")
def migrated(request: pytest.FixtureRequest, sqlite_session_dir):  # type: ignore[no-untyped-def]
    """One migrated database and one key store per backend and session; tests empty them instead
    of re-creating them."""
    cache: dict[str, tuple[str, str]] = {}

    def get(backend: str) -> tuple[str, str]:
        if backend not in cache:
            if backend == "sqlite":
                url = f"sqlite:///{sqlite_session_dir / 'vault.db'}"
                keys = f"sqlite:///{sqlite_session_dir / 'keystore.db'}"
            else:
                url = request.getfixturevalue("pg_url")
                keys = request.getfixturevalue("pg_keystore_url")
            engine = connect(url)
            migrate(engine)
            engine.dispose()
            KeyStore.open(keys).close()
            cache[backend] = (url, keys)
        return cache[backend]

    return get


def empty(engine, tables=metadata) -> None:  # type: ignore[no-untyped-def]
    with engine.begin() as conn:
        for table in reversed(tables.sorted_tables):
            conn.execute(delete(table))


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, migrated, monkeypatch) -> str:  # type: ignore[no-untyped-def]
    """The URL of an empty, migrated vault database, on each backend in turn; its empty key store
    is ``CALLVAULT_KEYSTORE`` for the test."""
    url, keys = migrated(request.param)
    for target, tables in ((url, metadata), (keys, keystore_metadata)):
        engine = connect(target)
        empty(engine, tables)
        engine.dispose()
    monkeypatch.setenv("CALLVAULT_KEYSTORE", keys)
    return url


@pytest.fixture
def master_key_bytes() -> bytes:
    return new_key()


@pytest.fixture
def master_key(master_key_bytes: bytes) -> MasterKey:
    return MasterKey(master_key_bytes, source="test")


@pytest.fixture
def vault(db_url: str, master_key: MasterKey) -> Iterator[Vault]:
    """A fresh vault (default policy) on SQLite and on PostgreSQL."""
    opened = Vault.open(db_url, master_key=master_key)
    yield opened
    opened.close()


@pytest.fixture
def cli_env(tmp_path, monkeypatch, db_url: str, master_key_bytes: bytes):  # type: ignore[no-untyped-def]
    """Environment for CLI tests: the vault URL and the same master key as the ``vault`` fixture."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CALLVAULT_DB", db_url)
    monkeypatch.setenv("CALLVAULT_MASTER_KEY", encode_key(master_key_bytes))
    monkeypatch.setenv("CALLVAULT_KEY_FILE", str(tmp_path / "callvault.key"))
    return tmp_path


@pytest.fixture(autouse=True)
def _own_keystore(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """No test ever creates a key store in the working directory: by default each test has its own
    (``db_url`` replaces it with the backend's)."""
    monkeypatch.setenv("CALLVAULT_KEYSTORE", f"sqlite:///{tmp_path / 'own-keystore.db'}")


SAMPLES_NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)  # the ingest samples are of 2026-11-02


@pytest.fixture
def samples_clock(monkeypatch: pytest.MonkeyPatch) -> datetime:
    """Run callvault's clock at :data:`SAMPLES_NOW`: sample files carry fixed dates, and a record
    past its period when it arrives is not stored (issue 12), so without this they would expire on
    arrival as the calendar moves on. Patches every module's imported ``utcnow``."""
    import callvault.clock as clock

    real = clock.utcnow
    for name, module in list(sys.modules.items()):
        if name.startswith("callvault") and getattr(module, "utcnow", None) is real:
            monkeypatch.setattr(module, "utcnow", lambda: SAMPLES_NOW)
    return SAMPLES_NOW
