"""Following a live source: new call records are stored as they appear, each exactly once.

``follow_calls`` reads a batch (new whole lines of a CSV file, or new rows of Kamailio's
database), stores its records through the collection gate and moves the source's checkpoint past
them, in one transaction with the batch's audit entry. A kill at any moment leaves either the
whole batch and its checkpoint or neither, so a restart stores every record exactly once (the
records' ``source_key`` also keeps a record met twice from being stored twice).

A bad record goes to the rejects file (its line or table row and field, never a value: Art. 5(1)(c))
and following goes on; ``on_error="fail"`` stops at it with nothing of its batch stored. It runs
until ``stop()`` says so (the CLI sets that on SIGTERM, between batches) or, with ``until_idle``,
until no record has come for that many seconds (tests, catching up).
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable, Generator
from dataclasses import replace
from pathlib import Path
from typing import Any

from callvault.collection.ingest import checkpoint
from callvault.collection.ingest.calls import store_calls
from callvault.collection.ingest.parties import source_region
from callvault.collection.ingest.report import IngestReport, Rejects, check_on_error
from callvault.collection.ingest.tail import Tail
from callvault.collection.parsers import kamailio_db
from callvault.collection.parsers.asterisk_csv import DEFAULT_TZ
from callvault.collection.parsers.formats import parse_calls
from callvault.collection.parsers.records import ParsedCall, RowError
from callvault.collection.profile import profile, require
from callvault.policy.taxonomy import CALL_HISTORY, PHONE
from callvault.tenants import region as tenant_region
from callvault.vault import Vault

HEADER_FORMATS = frozenset({"kamailio-acc"})  # CSV exports that start with a header row
ROWS = 5_000  # database rows per table and batch
GAP_WAIT = 10.0  # seconds a missing row id is waited for (see _waits)
Items = list[ParsedCall | RowError]
#: one read: its records, the checkpoint after them (None: nothing new), what to do once stored
Read = tuple[Items, dict[str, Any] | None, Callable[[], None]]


def follow_calls(
    vault: Vault,
    tenant_id: str,
    source: str | Path,
    *,
    format: str,
    utc: bool = False,
    tz: str = DEFAULT_TZ,
    country: str | None = None,
    on_error: str = "skip",
    rejects: str | Path | None = None,
    until_idle: float | None = None,
    stop: Callable[[], bool] = lambda: False,
    poll: float = 0.2,
    on_batch: Callable[[IngestReport], None] | None = None,
    actor: str = "operator",
) -> IngestReport:
    """Follow ``source`` (a CSV file, or for ``kamailio-acc`` a database URL) for ``tenant_id``.

    Returns the totals when ``stop()`` is true or ``until_idle`` seconds passed with nothing new.
    """
    check_on_error(on_error)
    parse_calls(format, io.BytesIO(), utc=utc, tz=tz)  # an unknown format or zone: UsageError now
    chosen = source_region(country)
    tenant = require(vault, tenant_id, CALL_HISTORY, action="collect.calls", actor=actor)
    region = chosen or tenant_region(vault, tenant)
    keep_parties = PHONE in profile(vault, tenant)
    text = str(source)
    key = checkpoint.source_id(format, text)
    with vault.engine.connect() as conn:
        start = checkpoint.load(conn, tenant_id, key)
    reader = _reader(format, text, start, utc=utc, tz=tz)
    if rejects is None and not kamailio_db.is_database(text):
        rejects = text + ".rejects"
    bad = Rejects(on_error, rejects, append=True)
    total = IngestReport(expired_on_arrival=0, unparsed_numbers=0)
    idle_since = time.monotonic()
    try:
        while not stop():
            items, position, done = next(reader)
            if position is None:
                if until_idle is not None and time.monotonic() - idle_since >= until_idle:
                    break
                time.sleep(poll)
                continue
            with vault.transaction() as conn:
                report = store_calls(
                    vault, conn, tenant_id, format, items, bad, region=region,
                    keep_parties=keep_parties, actor=actor, details={"follow": True},
                )  # fmt: skip
                checkpoint.save(conn, tenant_id, key, format, position)
            done()
            _add(total, report)
            if on_batch is not None:
                on_batch(report)
            idle_since = time.monotonic()
    finally:
        bad.close()
        reader.close()
    total.rejected = bad.count
    if bad.count and bad.path is not None:
        total.rejects_path = str(bad.path)
    return total


def _add(total: IngestReport, report: IngestReport) -> None:
    total.stored += report.stored
    total.duplicates += report.duplicates
    total.created_subjects += report.created_subjects
    total.dropped_fields.update(report.dropped_fields)
    total.expired_on_arrival = (total.expired_on_arrival or 0) + (report.expired_on_arrival or 0)
    total.unparsed_numbers = (total.unparsed_numbers or 0) + (report.unparsed_numbers or 0)


def _reader(
    format: str, source: str, start: dict[str, Any] | None, *, utc: bool, tz: str
) -> Generator[Read]:
    if kamailio_db.is_database(source):
        if format != "kamailio-acc":
            from callvault.errors import UsageError

            raise UsageError(f"a database URL is a source only for kamailio-acc, not {format!r}")
        return _rows(source, start or {}, utc=utc, tz=tz)
    return _lines(format, source, start, utc=utc, tz=tz)


def _lines(
    format: str, path: str, start: dict[str, Any] | None, *, utc: bool, tz: str
) -> Generator[Read]:
    tail = Tail(path, start, header=format in HEADER_FORMATS)
    try:
        while True:
            batch = tail.read()
            if batch is None:
                yield [], None, lambda: None
                continue
            shift = batch.first_line - (2 if batch.header else 1)
            parsed = parse_calls(format, io.BytesIO(batch.data), utc=utc, tz=tz)
            items = [_moved(item, shift) for item in parsed]
            position = batch.position
            yield items, position.as_dict(), lambda p=position: tail.advance(p)  # type: ignore[misc]
    finally:
        tail.close()


def _moved(item: ParsedCall | RowError, shift: int) -> ParsedCall | RowError:
    """A batch's line numbers made the file's (the batch starts ``shift`` lines in)."""
    if isinstance(item, RowError) and item.line is not None:
        return replace(item, line=item.line + shift)
    return item


def _rows(url: str, start: dict[str, Any], *, utc: bool, tz: str) -> Generator[Read]:
    engine = kamailio_db.connect(url)
    after: dict[str, int] = {table: int(start.get(table, 0)) for table in kamailio_db.TABLES}
    gaps: dict[tuple[str, int], float] = {}  # (table, missing id) -> when first seen
    try:
        while True:
            items: Items = []
            seen, stopped = dict(after), set()
            for table, row_id, item in kamailio_db.read(engine, after, limit=ROWS, tz=tz, utc=utc):
                if table in stopped or _waits(gaps, table, seen[table] + 1, row_id):
                    stopped.add(table)
                    continue
                seen[table] = row_id
                if item is not None:
                    items.append(item)
            if seen == after:
                yield [], None, lambda: None
                continue
            yield items, dict(seen), lambda s=seen: after.update(s)  # type: ignore[misc]
    finally:
        engine.dispose()


def _waits(gaps: dict[tuple[str, int], float], table: str, expected: int, row_id: int) -> bool:
    """True while a missing id before ``row_id`` may still be committed.

    PostgreSQL hands out ``SERIAL`` ids at insert, not at commit: with several Kamailio workers,
    row 11 may be visible before row 10 is. Moving the checkpoint past 11 would lose 10 for good,
    so a gap is waited for, up to :data:`GAP_WAIT` seconds (a rolled-back insert never fills it).
    """
    if row_id == expected:
        return False
    first = gaps.setdefault((table, expected), time.monotonic())
    return time.monotonic() - first < GAP_WAIT


__all__ = ["follow_calls"]
