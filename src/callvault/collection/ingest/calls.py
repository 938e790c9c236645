"""Ingesting call records through the collection gate.

What is stored of a call (GDPR Art. 5(1)(c), Art. 25): times, durations, outcome, the direction
derived from which parties are the tenant's users, and the parties as *subject ids* (a tenant user
through the blind index, otherwise an external caller subject with its own data key). Free-text
fields (``clid``, ``channel``, ``lastdata``, ``userfield``, ...) never reach storage: the parsers do
not even copy them, and the gate counts their names. The caller-id *name* is dropped too.

Atomicity: one transaction per file. A bad row (default ``on_error="fail"``), a crash or a kill
leaves the vault exactly as before the ingest; a re-run then starts from scratch. Re-ingesting a
file stores nothing twice while its calls are held: every record carries ``source_key``, the
tenant's blind index over ``src:<format>:<source id>``, and each batch is checked against what is
held, stored before or by an earlier batch of the same transaction
(:mod:`callvault.collection.ingest.duplicates`). A call no longer held (expired on arrival,
deleted by retention, erased) has left no key: ingested again, it is taken again, its statistics
and billing copy a second time (a known defect: the keys would have to outlive the calls).

A call already past the tenant's period for call records when it arrives is never kept as an event
(Art. 5(1)(e)): in the same transaction it becomes what retention keeps of it (statistics cells, the
billing subset; :mod:`callvault.retention.arrival`) and is counted as ``expired_on_arrival``, not as
``stored``.
"""

from __future__ import annotations

import gc
import io
import os
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import IO, Any, NamedTuple

from sqlalchemy import Connection

from callvault.clock import utcnow
from callvault.collection.ingest.bulk import WriteBehind, serialise_ingest, time_encoder
from callvault.collection.ingest.duplicates import Probe
from callvault.collection.ingest.parties import Parties, source_region
from callvault.collection.ingest.report import (
    IngestReport,
    Progress,
    Rejects,
    batched,
    check_on_error,
    count_dropped,
    counting,
    default_rejects,
)
from callvault.collection.parsers import kamailio_db
from callvault.collection.parsers.asterisk_csv import DEFAULT_TZ
from callvault.collection.parsers.formats import parse_calls
from callvault.collection.parsers.kamailio_db import is_database
from callvault.collection.parsers.records import ParsedCall, RowError
from callvault.collection.profile import profile, require
from callvault.errors import CallvaultError, UsageError
from callvault.policy.taxonomy import CALL_HISTORY, PHONE
from callvault.retention.arrival import calls_expired_on_arrival
from callvault.retention.rules import held_from
from callvault.store.audit_chain import AuditEntry
from callvault.store.schema.core import calls
from callvault.tenants import get_tenant
from callvault.tenants import region as tenant_region
from callvault.vault import Vault

BATCH = 5_000
SQLITE_CACHE = -65536  # KiB: 64 MiB of page cache for the indexes (bounded memory, issue 17)
_CALL_COLUMNS = (
    "tenant_id", "call_id", "source_key", "linked_key", "started_at", "answered_at", "ended_at",
    "duration_s", "billsec_s", "direction", "outcome", "caller_subject_id", "callee_subject_id",
    "created_at",
)  # fmt: skip
_CALLER_NAME = "caller_name"  # parsed from clid and the like; not needed by any purpose: dropped


def ingest_calls(
    vault: Vault,
    tenant_id: str,
    stream: IO[bytes] | str | Path,
    *,
    format: str,
    utc: bool = False,
    tz: str = DEFAULT_TZ,
    country: str | None = None,
    on_error: str = "fail",
    rejects: str | Path | None = None,
    progress: Progress | None = None,
    actor: str = "operator",
) -> IngestReport:
    """Store the call records of ``stream`` (binary, or a path) for ``tenant_id``.

    For ``kamailio-acc``, ``stream`` may also be the URL of Kamailio's database (a string).

    Refused (PolicyRefusal) when the tenant does not collect call history. With ``on_error="fail"``
    any bad row raises InvalidInput naming its line and nothing is stored; with ``"skip"`` bad rows
    go to ``rejects`` (default ``<input>.rejects``). National numbers are read in ``country`` (ISO
    3166-1 alpha-2), by default the tenant's.
    """
    check_on_error(on_error)
    chosen = source_region(country)
    tenant = require(vault, tenant_id, CALL_HISTORY, action="collect.calls", actor=actor)
    region = chosen or tenant_region(vault, tenant)
    with ExitStack() as stack:
        source: Any = stream
        if is_database(stream):
            items = _database(format, str(stream), utc=utc, tz=tz)
        else:
            if isinstance(stream, str | Path):
                source = stack.enter_context(open(stream, "rb"))
            items = parse_calls(format, counting(source, progress), utc=utc, tz=tz)
        if on_error == "skip" and rejects is None:
            rejects = default_rejects(stream if isinstance(stream, str | Path) else source)
        bad = Rejects(on_error, rejects)
        stack.callback(bad.close)
        keep_parties = PHONE in profile(vault, tenant)
        with vault.transaction() as conn:
            report = store_calls(
                vault, conn, tenant_id, format, items, bad, region=region,
                keep_parties=keep_parties, actor=actor,
            )  # fmt: skip
        if bad.count and bad.path is not None:
            report.rejects_path = str(bad.path)
        return report


def _database(format: str, url: str, *, utc: bool, tz: str) -> Iterator[ParsedCall | RowError]:
    if format != "kamailio-acc":
        raise UsageError(f"a database URL is a source only for kamailio-acc, not {format!r}")
    parse_calls(format, io.BytesIO(), utc=utc, tz=tz)  # checks the time zone before reading
    return kamailio_db.records(url, tz=tz, utc=utc)


def store_calls(
    vault: Vault,
    conn: Connection,
    tenant_id: str,
    format: str,
    items: Iterable[ParsedCall | RowError],
    bad: Rejects,
    *,
    region: str,
    keep_parties: bool,
    actor: str,
    details: dict[str, Any] | None = None,
) -> IngestReport:
    """Store ``items`` in ``conn``'s transaction, with its audit entry (``details`` added to it).

    The transaction must not have changed ``calls`` before: on PostgreSQL the duplicate probe asks
    a second connection what was stored before the ingest (:mod:`.duplicates`)."""
    parties = Parties(vault, conn, tenant_id, create=keep_parties, now=utcnow(), region=region)
    # The cyclic collector would re-scan every long-lived object of the process (modules, the
    # vault, metadata) a thousand times over a million rows, for cycles a bulk insert does not
    # make: those objects are set aside (not freed, not scanned) until the batch loop ends.
    gc.freeze()
    try:
        report = _store(conn, tenant_id, format, iter(items), bad, parties)
    finally:
        gc.unfreeze()
    categories = [CALL_HISTORY, *([PHONE] if keep_parties else [])]
    entry = AuditEntry(
        actor=actor,
        action="collect.calls",
        categories=categories,
        details=report.audit_details(format=format, country=region, **(details or {})),
    )
    vault.audit(conn, tenant_id, entry)
    return report


def _store(
    conn: Connection,
    tenant_id: str,
    format: str,
    items: Iterator[ParsedCall | RowError],
    bad: Rejects,
    parties: Parties,
) -> IngestReport:
    """Batch by batch: key the records, probe which are held, draft their rows, write them.

    The pipeline keeps the worker busy: while it writes batch k and then probes which of batch
    k+1's keys are held (one job after the other, so the probe sees batch k; on PostgreSQL it asks
    a reader about what was stored before, see :class:`Probe`), this thread parses
    and keys batch k+1 and drafts its rows with the parties already resolved in this ingest. Only
    then does it wait, drop the rows already held and resolve the parties not yet seen (which
    needs the connection), and hand the batch over.
    """
    serialise_ingest(conn, tenant_id)
    now = parties.now
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql(f"PRAGMA cache_size={SQLITE_CACHE}")  # index pages stay in memory
    report = IngestReport(expired_on_arrival=0)
    oldest = held_from(parties.vault, get_tenant(conn, tenant_id), now)["call_record"]
    rows = _CallRows(parties, tenant_id, format, oldest)
    dropped: Counter[tuple[str, ...]] = Counter()
    writer = WriteBehind(conn)
    probe = Probe(conn, tenant_id, writer)
    try:
        for batch in batched(items, BATCH):  # the parser reads while the last batch is written
            keyed = _keyed(parties, format, _accepted(batch, bad, dropped, report), report)
            held = probe.ask(list(keyed))
            draft = rows.draft(keyed.items())
            writer.wait()  # the connection is ours again: the earlier batches are in
            fresh = rows.complete(draft, held.result(), report)
            writer.write(conn, calls, _CALL_COLUMNS, fresh)
            probe.stored(keyed)
            report.stored += len(fresh)
        writer.wait()
    finally:
        try:
            writer.close()  # first: its thread uses the transaction's connection
        finally:
            probe.close()
    kept = calls_expired_on_arrival(parties.vault, conn, tenant_id, rows.expired, now)
    report.expired_on_arrival = kept["anonymised"]
    report.stored -= kept["anonymised"]  # never an event: only what retention keeps of it
    count_dropped(report.dropped_fields, dropped)
    report.rejected = bad.count
    report.created_subjects = parties.created
    report.unparsed_numbers = rows.unparsed
    return report


def _accepted(
    batch: list[ParsedCall | RowError],
    bad: Rejects,
    dropped: Counter[tuple[str, ...]],
    report: IngestReport,
) -> list[ParsedCall]:
    """The records of ``batch``; its bad rows go to ``bad``. Every accepted row's fields that
    were seen and not kept are counted (names only)."""
    good: list[ParsedCall] = []
    for item in batch:
        if isinstance(item, RowError):
            bad.add(item)
        else:
            good.append(item)
            dropped[item.dropped_fields] += 1
            if item.caller_name is not None:
                report.dropped_fields[_CALLER_NAME] += 1
    return good


def _keyed(
    parties: Parties, format: str, good: list[ParsedCall], report: IngestReport
) -> dict[bytes, ParsedCall]:
    """The records of ``good`` by their source key, without those repeated earlier in the batch."""
    prefix, index = f"src:{format}:", parties.index
    keyed = {}
    for record in good:
        key = index(prefix + record.source_id)
        if key in keyed:
            report.duplicates += 1
        else:
            keyed[key] = record
    return keyed


class _Draft(NamedTuple):
    rows: list[tuple[Any, ...]]  # complete rows of ``calls``
    waiting: list[tuple[bytes, ParsedCall]]  # records (by key) with a party not yet resolved
    odd: dict[bytes, int]  # source key -> how many of its parties are unparsed numbers


class _CallRows:
    """The ``calls`` rows of keyed records, their parties resolved once per ingest.

    By number and the call's time: a recycled number's earlier calls stay its previous holder's
    (:meth:`Parties.resolve_at`). Only the parties whose user holds the number from a date need
    the record's time, and only their earlier records the previous holder.
    """

    def __init__(self, parties: Parties, tenant_id: str, format: str, oldest: Any) -> None:
        self.parties, self.tenant_id = parties, tenant_id
        self.encode = time_encoder(parties.conn)
        self.link = f"link:{format}:"
        self.linked: dict[str, bytes] = {}  # linked id -> its blind index (legs are adjacent)
        self.ids = ordered_ids()
        self.created = self.encode(parties.now)
        self.oldest = self.encode(oldest)  # encoded times compare as the times do
        self.expired: list[str] = []  # ids of the calls stored already past their period
        self.unparsed = 0  # parties stored that are unparsed numbers

    def draft(self, records: Iterable[tuple[bytes, ParsedCall]]) -> _Draft:
        """Rows for the records whose parties are resolved already (no database work); the
        others wait for :meth:`complete`."""
        parties, known, since = self.parties, self.parties.known, self.parties.since_of
        index, link, linked = parties.index, self.link, self.linked
        encode, ids, tenant_id, created = self.encode, self.ids, self.tenant_id, self.created
        rows: list[tuple[Any, ...]] = []
        waiting: list[tuple[bytes, ParsedCall]] = []
        odd: dict[bytes, int] = {}
        for key, record in records:
            caller, callee = known.get(record.caller), known.get(record.callee)
            if since:
                started = record.started_at
                if record.caller in since and started < since[record.caller]:
                    caller = parties.known_prior(record.caller)
                if record.callee in since and started < since[record.callee]:
                    callee = parties.known_prior(record.callee)
            if caller is None or callee is None:
                waiting.append((key, record))
                continue
            caller_id, caller_user, odd_caller = caller
            callee_id, callee_user, odd_callee = callee
            if odd_caller or odd_callee:
                odd[key] = odd_caller + odd_callee
            if record.user_side is not None and _swapped(
                record.user_side, caller_user, callee_user
            ):
                caller_id, caller_user, callee_id, callee_user = (
                    callee_id, callee_user, caller_id, caller_user,
                )  # fmt: skip
            linked_key = None
            if record.linked_id is not None:
                linked_key = linked.get(record.linked_id)
                if linked_key is None:
                    if len(linked) > BATCH:
                        linked.clear()  # bounded: a call's legs are written close together
                    linked_key = linked[record.linked_id] = index(link + record.linked_id)
            rows.append(
                (
                    tenant_id,
                    next(ids),
                    key,
                    linked_key,
                    encode(record.started_at),
                    encode(record.answered_at),
                    encode(record.ended_at),
                    record.duration_s,
                    record.billsec_s,
                    _DIRECTIONS[caller_user, callee_user],
                    record.outcome,
                    caller_id,
                    callee_id,
                    created,
                )
            )
        return _Draft(rows, waiting, odd)

    def complete(self, draft: _Draft, held: set[bytes], report: IngestReport) -> list[Any]:
        """The rows of ``draft`` not ``held`` already, its waiting records' rows added once their
        parties are resolved (the connection must be free: found, or created, in one batch)."""
        report.duplicates += len(held)
        waiting = [(key, record) for key, record in draft.waiting if key not in held]
        rows = draft.rows if not held else [row for row in draft.rows if row[2] not in held]
        odd = draft.odd
        if waiting:
            late = self._resolved(waiting)
            rows, odd = rows + late.rows, {**odd, **late.odd}
        self.unparsed += sum(n for key, n in odd.items() if key not in held)
        self.expired.extend(row[1] for row in rows if row[4] < self.oldest)
        return rows

    def _resolved(self, waiting: list[tuple[bytes, ParsedCall]]) -> _Draft:
        parties = self.parties
        parties.resolve({r.caller for _, r in waiting} | {r.callee for _, r in waiting})
        if parties.since_of:
            parties.prior_holders(_earlier(waiting, parties.since_of))
        late = self.draft(waiting)
        if late.waiting:  # every party was just resolved: never a silent loss of records
            raise CallvaultError(f"ingest: {len(late.waiting)} records' parties were not resolved")
        return late


def _earlier(
    records: list[tuple[bytes, ParsedCall]], since: dict[str | None, Any]
) -> set[str | None]:
    """The parties of ``records`` with a record from before their user held the number."""
    return {
        raw
        for _, record in records
        for raw in (record.caller, record.callee)
        if raw in since and record.started_at < since[raw]
    }


def ordered_ids() -> Iterator[str]:
    """Random surrogate ids with a time prefix, so a batch appends to the primary key's b-tree.

    32 hex digits like :func:`callvault.subjects.directory.new_id`: 10 of time (creation time is stored
    anyway), 6 of a counter, 16 random. Never derived from a number, e-mail or name. When the
    counter wraps (16,777,216 ids), the ids go on under a new, later time prefix.
    """
    while True:
        prefix = f"{time.time_ns() // 1000:014x}"[-10:]
        for start in range(0, _COUNTER, BATCH):
            noise = os.urandom(8 * BATCH).hex()  # one system call per batch, not per row
            for n in range(min(BATCH, _COUNTER - start)):
                yield f"{prefix}{start + n:06x}{noise[16 * n : 16 * n + 16]}"


_COUNTER = 1 << 24  # six hex digits


def _swapped(user_side: str | None, caller_is_user: bool, callee_is_user: bool) -> bool:
    """True when the source says which side its user is, and the directory says the other side.

    Graph's callType names the Teams user's side; its documentation of the two number fields is
    not consistent (see graph_pstn). A row whose user's side is, by the directory, the other party
    and whose other party is the user was written the other way round: read it so.
    """
    if user_side == "callee":
        return caller_is_user and not callee_is_user
    if user_side == "caller":
        return callee_is_user and not caller_is_user
    return False


def direction(caller_is_user: bool, callee_is_user: bool) -> str:
    """Internal between two users, outbound from a user, otherwise inbound.

    A call between two non-users (a trunk call to a DID that is no user's own number) reached the
    tenant's system from outside: inbound.
    """
    if caller_is_user:
        return "internal" if callee_is_user else "outbound"
    return "inbound"


_DIRECTIONS = {(a, b): direction(a, b) for a in (False, True) for b in (False, True)}

__all__ = ["BATCH", "direction", "ingest_calls", "store_calls"]
