"""Shared benchmark plumbing: a scratch vault on SQLite and on PostgreSQL, timing, the result table."""

from __future__ import annotations

import argparse
import os
import secrets
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, text

from callvault.crypto.master_key import MasterKey
from callvault.crypto.primitives import new_key
from callvault.store import connect, migrate, sqlalchemy_url
from callvault.vault import Vault

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/test"


def arguments(description: str, rows: int) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--rows", type=int, default=rows)
    parser.add_argument("--pg", default=os.environ.get("CALLVAULT_TEST_PG", DEFAULT_PG))
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    return parser.parse_args()


@contextmanager
def scratch_vault(backend: str, pg_url: str) -> Iterator[Vault]:
    """A migrated, empty vault that is removed afterwards."""
    if backend == "sqlite":
        with tempfile.TemporaryDirectory() as folder:
            yield _open(f"sqlite:///{folder}/bench.db", f"sqlite:///{folder}/keystore.db")
        return
    name = f"callvault_bench_{secrets.token_hex(4)}"
    admin = create_engine(sqlalchemy_url(pg_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:  # the key store lives apart from the data, as in production
        conn.execute(text(f'CREATE DATABASE "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}_keys"'))
    try:
        base = pg_url.rsplit("/", 1)[0]
        yield _open(f"{base}/{name}", f"{base}/{name}_keys")
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}_keys" WITH (FORCE)'))
        admin.dispose()


def _open(url: str, keystore: str) -> Vault:
    engine = connect(url)
    migrate(engine)
    engine.dispose()
    return Vault.open(url, master_key=MasterKey(new_key(), source="bench"), keystore=keystore)


def timed(work: Callable[[], object]) -> float:
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def report(label: str, backend: str, units: str, count: int, ours: float, raw: float) -> None:
    """One line: callvault's rate beside the raw baseline's, and the ratio of their times."""
    print(
        f"{label:<28} {backend:<10} callvault {count / ours:>12,.0f} {units}/s   "
        f"raw {count / raw:>12,.0f} {units}/s   ratio {ours / raw:5.2f}"
    )


def backends(choice: str) -> list[str]:
    return ["sqlite", "postgresql"] if choice == "both" else [choice]
