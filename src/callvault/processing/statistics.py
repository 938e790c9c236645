"""Anonymous call statistics for customer-service improvement (GDPR Art. 6(1)(f), Recital 26).

The only output of a purpose whose ``output`` is ``anonymous_statistics`` (``customer_service`` in
the default policy): per hour or day bucket, direction and outcome, the number of calls and their
durations, each call's duration rounded to 10 s before summing. Never event-level rows, never an
identifier, a subject id or a call id.

One base grid, suppressed once (issue 12: published statistics could be differenced). Whatever the
granularity and window asked, the answer is built from **base cells**: one hour, direction and
outcome (:mod:`callvault.store.cells`). Live calls are aggregated into base cells in SQL (GROUP BY,
set-based) and merged with the ``call_statistics`` cells retention left behind (populations merged
with ``max``, an undercount, so suppression errs on the side of suppressing). Then every base cell
whose population (the tenant's users among its parties, never their correspondents) is below k is
dropped, and only then are the survivors summed into day cells when ``by="day"``. Every published
figure is therefore a sum of base cells that each meet k: the day total minus its published hours,
or one window minus another, is again a sum of such cells and never a suppressed one.
``suppressed_cells`` counts the suppressed base cells of the window. Calls of subjects under
restriction (Art. 18) or objecting to the purpose (Art. 21) are left out.

Windows are whole buckets: ``start`` is floored and ``end`` ceiled to the hour or day of ``by`` (UTC),
so the window covers every bucket it touches and ``to`` in the answer is the exclusive end of the last
bucket.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    and_,
    func,
    or_,
    select,
)

from callvault.clock import utcnow
from callvault.errors import InvalidInput, PolicyRefusal
from callvault.policy.model import STATISTICS
from callvault.processing.context import tenant_context
from callvault.processing.gate import decide
from callvault.processing.reads import audit_decision
from callvault.rights.restriction import objecting_subjects, restricted_subjects
from callvault.store.cells import (
    BUCKETS,
    bucket_start,
    ceil,
    floor,
    meets_k,
    population,
    rounded,
)
from callvault.store.schema.core import calls
from callvault.store.schema.statistics import call_statistics
from callvault.subjects.actors import check_actor
from callvault.tenants import get_tenant
from callvault.vault import Vault

Key = tuple[str, str, str]
_POOLED = "pooled"  # day cells pooled by earlier builds: below k by construction, never shown


@dataclass
class Cell:
    calls: int = 0
    subjects: int = 0
    duration_s: int = 0
    billsec_s: int = 0


def _label(value: Any, by: str) -> str:
    """The bucket as ISO 8601: a date for days, a UTC instant for hours."""
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment.date().isoformat() if by == "day" else moment.replace(tzinfo=UTC).isoformat()


def snap(start: datetime | None, end: datetime | None, by: str) -> tuple[datetime | None, ...]:
    """The window as whole buckets: (first bucket's start, last bucket's exclusive end)."""
    return (floor(start, by) if start is not None else None), (ceil(end, by) if end else None)


def _party_allowed(column: Any, excluded: Any) -> ColumnElement[bool]:
    return or_(column.is_(None), column.not_in(excluded))


def _live_filter(
    tenant_id: str, purpose: str, start: datetime | None, end: datetime | None, at: datetime
) -> ColumnElement[bool]:
    c = calls.c
    excluded = restricted_subjects(tenant_id, at).union(objecting_subjects(tenant_id, purpose, at))
    conditions = [
        c.tenant_id == tenant_id,
        _party_allowed(c.caller_subject_id, excluded),
        _party_allowed(c.callee_subject_id, excluded),
    ]
    if start is not None:
        conditions.append(c.started_at >= start)
    if end is not None:
        conditions.append(c.started_at < end)  # end: exclusive, a bucket boundary
    return and_(*conditions)


def _live(
    conn: Connection, tenant_id: str, window: ColumnElement[bool], cells: dict[Key, Cell]
) -> None:
    """The base (hour) cells of the live calls in the window, with their populations."""
    c = calls.c
    bucket = bucket_start(conn, c.started_at, "hour")
    totals = (
        select(
            bucket,
            c.direction,
            c.outcome,
            func.count(),
            func.sum(rounded(c.duration_s)),
            func.sum(rounded(c.billsec_s)),
        )
        .where(window)
        .group_by(bucket, c.direction, c.outcome)
    )
    for b, direction, outcome, n, duration, billsec in conn.execute(totals):
        cells[(_label(b, "hour"), direction, outcome)] = Cell(
            int(n), 0, int(duration or 0), int(billsec or 0)
        )
    for b, direction, outcome, people in conn.execute(population(window, bucket, tenant_id)):
        cells[(_label(b, "hour"), direction, outcome)].subjects = int(people)


def _stored(
    conn: Connection,
    tenant_id: str,
    start: datetime | None,
    end: datetime | None,
    cells: dict[Key, Cell],
) -> None:
    """Merge retention's stored base cells (hour cells; pooled cells of earlier builds never meet k
    and are left out) into the live ones: counts add, populations take the max."""
    s = call_statistics.c
    query = select(
        s.bucket_start, s.direction, s.outcome, s.calls, s.subjects, s.duration_s, s.billsec_s
    ).where(s.tenant_id == tenant_id, s.direction != _POOLED)
    if start is not None:
        query = query.where(s.bucket_start >= start)
    if end is not None:
        query = query.where(s.bucket_start < end)
    for b, direction, outcome, n, subjects, duration, billsec in conn.execute(query):
        cell = cells.setdefault((_label(b, "hour"), direction, outcome), Cell())
        cell.calls += int(n)
        cell.subjects = max(cell.subjects, int(subjects))
        cell.duration_s += int(duration)
        cell.billsec_s += int(billsec)


def _publish(cells: dict[Key, Cell], by: str, k: int) -> tuple[list[dict[str, Any]], int]:
    """Suppress base cells below k once, then sum the survivors into buckets of ``by``."""
    shown: dict[Key, Cell] = {}
    suppressed = 0
    for (hour, direction, outcome), cell in cells.items():
        if not meets_k(cell.subjects, k):
            suppressed += 1  # fewer than k people: never part of any published figure
            continue
        bucket = hour[:10] if by == "day" else hour
        total = shown.setdefault((bucket, direction, outcome), Cell())
        total.calls += cell.calls
        total.duration_s += cell.duration_s
        total.billsec_s += cell.billsec_s
    published = [
        {
            "bucket": bucket,
            "direction": direction,
            "outcome": outcome,
            "calls": cell.calls,
            "duration_s": cell.duration_s,
            "billsec_s": cell.billsec_s,
        }
        for (bucket, direction, outcome), cell in sorted(shown.items())
    ]
    return published, suppressed


def statistics(
    vault: Vault,
    tenant_id: str,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    by: str = "day",
    actor: str = "operator",
    at: datetime | None = None,
    purpose: str | None = None,
) -> dict[str, Any]:
    """Anonymous aggregates of the tenant's calls; PolicyRefusal (exit 3) if the gate denies.

    ``purpose`` defaults to the policy's one purpose whose output is anonymous statistics.
    """
    if by not in BUCKETS:
        raise InvalidInput(f"--by must be hour or day, not {by!r}", pointer="by")
    check_actor(actor)
    start, end = snap(start, end, by)
    at = at or utcnow()
    k = vault.policy.policy.k_anonymity
    purpose = vault.policy.sole_purpose(
        "yields anonymous statistics", output=STATISTICS, name=purpose
    ).name
    with vault.transaction() as conn:
        tenant = get_tenant(conn, tenant_id)
        ctx = tenant_context(vault.policy)
        decision = decide(actor, tenant, None, purpose, None, at, ctx=ctx, output=STATISTICS)
        shown: list[dict[str, Any]] = []
        suppressed = 0
        if decision.allowed:
            cells: dict[Key, Cell] = {}  # the base grid: hour cells
            _live(conn, tenant_id, _live_filter(tenant_id, purpose, start, end, at), cells)
            _stored(conn, tenant_id, start, end, cells)
            shown, suppressed = _publish(cells, by, k)
        details = {"by": by, "cells": len(shown), "suppressed_cells": suppressed, "k": k}
        audit_decision(vault, conn, tenant_id, actor, "stats", None, purpose, decision, **details)
    if not decision.allowed:
        raise PolicyRefusal(decision.reason, decision=decision)
    return {
        "tenant": tenant_id,
        "purpose": purpose,
        "legal_basis": decision.legal_basis,
        "by": by,
        "from": start.isoformat() if start else None,
        "to": end.isoformat() if end else None,
        "k": k,
        "cells": shown,
        "suppressed_cells": suppressed,
    }
