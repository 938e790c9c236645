"""Which of a batch's records the vault holds already: the duplicate probe of a call ingest.

A record is held when a call with its source key is stored, before this ingest or by an earlier
batch of it. On SQLite one SELECT per batch on the ingest's connection asks both, after the last
write. On PostgreSQL the two are asked apart, so that the first never waits for the ingest's
writes nor adds to them (issue 17: the probe was an eighth of the work of the server process that
every batch waits for; 1,000,000 rows took 28-29 s, now 26):

- **before this ingest:** one SELECT per batch on a second connection, a reader, which another
  server process answers while the ingest's own connection writes. It sees what is committed,
  which is all that was stored before: ingests of one tenant are serialised
  (:func:`callvault.collection.ingest.bulk.serialise_ingest`), only an ingest writes a source
  key, and the ingest's transaction has changed no call before it stores (``store_calls``
  requires it).
- **by this ingest:** its rows are not committed, so the reader cannot see them. A Bloom filter
  (:class:`SeenKeys`) remembers this ingest's keys; only the keys it may have seen are asked on the
  ingest's own connection, after its last write. It never misses a key it was given; a false
  positive costs a lookup, never a record.

The answer is the one a single probe on the ingest's connection gives, and the unique index on the
source key stays the guarantee. Not on SQLite: there the same split made a million-row ingest 2 s
slower (the probe on the writer's connection reads the index pages the insert touches next, into
the writer's cache; a reader reads them a second time, into its own).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from sqlalchemy import Connection, Engine, create_engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import NullPool

from callvault.collection.ingest.bulk import WriteBehind, fetch_in

_LOG = logging.getLogger(__name__)
_BITS = 1 << 25  # 4 MiB: with three positions a key, 0.4 % false positives at 2,000,000 keys
_MASK = _BITS - 1
_HELD = "SELECT source_key FROM calls WHERE tenant_id = {p} AND source_key {in}"


def held(conn: Connection, tenant_id: str, keys: list[bytes]) -> set[bytes]:
    """Those of ``keys`` that ``conn`` sees stored (one SELECT)."""
    return {bytes(row[0]) for row in fetch_in(conn, _HELD, tenant_id, keys)}


class SeenKeys:
    """A Bloom filter of the source keys this ingest has stored, in a fixed 4 MiB.

    Source keys are blind indexes (HMAC-SHA256): their bits are uniform already, so the filter
    takes its three positions straight from the key's bytes instead of hashing again.
    """

    def __init__(self) -> None:
        self._bits = bytearray(_BITS >> 3)

    def add(self, keys: Iterable[bytes]) -> None:
        bits = self._bits
        for key in keys:
            h = int.from_bytes(key, "little")
            p = h & _MASK
            bits[p >> 3] |= 1 << (p & 7)
            p = (h >> 25) & _MASK
            bits[p >> 3] |= 1 << (p & 7)
            p = (h >> 50) & _MASK
            bits[p >> 3] |= 1 << (p & 7)

    def maybe(self, keys: Iterable[bytes]) -> list[bytes]:
        """Those of ``keys`` this ingest may have stored: every one it has, and a few more."""
        bits, found = self._bits, []
        for key in keys:
            h = int.from_bytes(key, "little")
            p = h & _MASK
            if bits[p >> 3] >> (p & 7) & 1:
                p = (h >> 25) & _MASK
                if bits[p >> 3] >> (p & 7) & 1:
                    p = (h >> 50) & _MASK
                    if bits[p >> 3] >> (p & 7) & 1:
                        found.append(key)
        return found


class Probe:
    """The duplicate probe of one ingest on ``conn``, whose writes go through ``writer``.

    On PostgreSQL, from the second batch on, with a reader and a filter of the ingest's own keys;
    the first batch (all of most ingests: a follow step, an API upload) asks the ingest's
    connection alone. The reader is a connection of its own, outside the vault's pool: an ingest
    holding a pooled connection must never wait for a second one (concurrent ingests would each
    hold one and wait). If the server refuses it, the ingest's connection answers everything.
    """

    def __init__(self, conn: Connection, tenant_id: str, writer: WriteBehind) -> None:
        self.conn, self.tenant_id, self.writer = conn, tenant_id, writer
        self.seen = SeenKeys() if conn.dialect.name == "postgresql" else None
        self._asked = 0
        self._engine: Engine | None = None
        self._reader: Connection | None = None
        self._pool: ThreadPoolExecutor | None = None

    def ask(self, keys: list[bytes]) -> Held:
        """Which of ``keys`` are held: :meth:`Held.result`, asked after ``writer.wait()``."""
        self._asked += 1
        pool = None if self.seen is None or self._asked == 1 else self._opened()
        if pool is None or self.seen is None:
            return Held(self.writer.submit(held, self.conn, self.tenant_id, keys))
        before = pool.submit(self._committed, keys)
        mine = self.writer.submit(held, self.conn, self.tenant_id, self.seen.maybe(keys))
        return Held(mine, before)

    def stored(self, keys: Iterable[bytes]) -> None:
        """``keys`` are this ingest's now (stored, or held already)."""
        if self.seen is not None:
            self.seen.add(keys)

    def close(self) -> None:
        """Join the reader's thread, then close the reader (on every path, each in turn)."""
        try:
            if self._pool is not None:
                self._pool.shutdown(wait=True)
        finally:
            try:
                if self._reader is not None:
                    self._reader.close()
            finally:
                if self._engine is not None:
                    self._engine.dispose()

    def _opened(self) -> ThreadPoolExecutor | None:
        """The reader's thread, the reader opened once; None (and the filter dropped) when the
        server refuses a second connection."""
        if self._pool is None:
            try:
                self._engine = create_engine(self.conn.engine.url, poolclass=NullPool)
                self._reader = self._engine.connect()
            except OperationalError as exc:  # the class only: a driver's message names the host
                _LOG.warning("ingest: no second connection for the probe (%s)", type(exc).__name__)
                self.seen = None
                return None
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="callvault-probe")
        return self._pool

    def _committed(self, keys: list[bytes]) -> set[bytes]:
        reader: Any = self._reader
        with reader.begin():  # one short read: no snapshot is held between batches
            return held(reader, self.tenant_id, keys)


class Held:
    """The answer of :meth:`Probe.ask`: the union of its parts."""

    def __init__(self, *parts: Future[set[bytes]]) -> None:
        self._parts = parts

    def result(self) -> set[bytes]:
        found: set[bytes] = set()
        for part in self._parts:
            found |= part.result()
        return found
