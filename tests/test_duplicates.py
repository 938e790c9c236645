"""The duplicate probe of a call ingest (collection/ingest/duplicates.py): its Bloom filter, and on
PostgreSQL its reader, a connection outside the vault's pool."""

import random
import threading

import pytest
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import QueuePool

import callvault.collection.ingest.calls as calls_ingest
import callvault.collection.ingest.duplicates as duplicates
from callvault import InvalidInput, ingest_calls
from callvault.collection.ingest.duplicates import SeenKeys
from ingesthelp import SAMPLES, count, setup_acme, stream

ONE_FILE = SAMPLES["asterisk-csv"][0]  # three records
on_postgresql = pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)


def test_every_key_seen_is_reported_and_few_others():
    rng = random.Random(17)
    stored = [rng.randbytes(16) for _ in range(200_000)]
    seen = SeenKeys()
    seen.add(stored)
    assert seen.maybe(stored) == stored  # never a miss: a miss would store a record twice
    others = [rng.randbytes(16) for _ in range(100_000)]
    assert len(seen.maybe(others)) < 10  # three positions a key: about 0.6 in 100,000 expected


def test_an_empty_filter_reports_nothing():
    rng = random.Random(3)
    assert SeenKeys().maybe([rng.randbytes(16) for _ in range(1_000)]) == []


def _probe_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("callvault-probe")]


@pytest.fixture
def batches_of_two(monkeypatch, samples_clock):  # type: ignore[no-untyped-def]
    """Batches of two records, so that a three-record file opens the reader."""
    monkeypatch.setattr(calls_ingest, "BATCH", 2)


@on_postgresql
def test_an_ingest_needs_one_connection_of_the_vaults_pool(vault, batches_of_two):
    """The reader is a connection of its own: an ingest holding the pool's only connection (or
    many ingests holding all of them) never waits for a second one from it."""
    setup_acme(vault)
    usual = vault.engine.pool
    vault.engine.pool = QueuePool(usual._creator, pool_size=1, max_overflow=0, timeout=2)
    try:
        first = ingest_calls(vault, "acme", stream(ONE_FILE * 2), format="asterisk-csv")
        again = ingest_calls(vault, "acme", stream(ONE_FILE), format="asterisk-csv")
    finally:
        vault.engine.pool.dispose()
        vault.engine.pool = usual
    assert (first.stored, first.duplicates, again.stored, again.duplicates) == (3, 3, 0, 3)


@on_postgresql
def test_a_failed_ingest_leaves_no_reader_behind(vault, batches_of_two):
    setup_acme(vault)
    bad = ONE_FILE * 2 + '"","201","202","x","","","","","","bad-time"\n'
    with pytest.raises(InvalidInput):
        ingest_calls(vault, "acme", stream(bad), format="asterisk-csv")
    assert count(vault) == 0 and not _probe_threads()


@on_postgresql
def test_without_a_second_connection_the_ingests_own_answers(vault, batches_of_two, monkeypatch):
    def refused(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise OperationalError("connect", {}, Exception("too many clients"))

    monkeypatch.setattr(duplicates, "create_engine", refused)
    setup_acme(vault)
    first = ingest_calls(vault, "acme", stream(ONE_FILE * 2), format="asterisk-csv")
    again = ingest_calls(vault, "acme", stream(ONE_FILE), format="asterisk-csv")
    assert (first.stored, first.duplicates, again.stored, again.duplicates) == (3, 3, 0, 3)
