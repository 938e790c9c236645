"""Pooling of small statistics cells: what survives retention must not be event-level (Recital 26).

``call_statistics`` (store/schema_statistics.py) holds one cell per tenant, hour, direction and
outcome. In a quiet hour a cell describes one or two calls (``calls=1, subjects=1`` and that call's
rounded durations): joined with the billing copy (day, billsec, payer) it would give the hour of a named
user's call, so the "anonymous" statistics would still be personal data (DESIGN, "Anonymisation is not
deletion of the name"; issue 6: "small cells suppressed or pooled").

At the end of each tenant's call anonymisation in a run, inside the last batch's transaction and so
atomic with its audit entry, every cell of that tenant with ``subjects < k`` (``policy.k_anonymity``)
whose hour lies wholly before the cutoff is merged into a pooled cell of its UTC day:
``bucket_start`` = 00:00 of the day, ``direction = outcome = "pooled"``. Counts and duration sums add
(so ``callvault stats`` still counts every expired call), ``subjects`` takes the max (an undercount,
as for every merge), and the small hour cells are deleted. A pooled cell therefore shows neither the
hour nor the direction nor the outcome. Hours not yet wholly expired are left for a later run, whose
pooling adds to the same day cell. Cells of k or more subjects keep their hour.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import (
    ColumnElement,
    Connection,
    and_,
    delete,
    func,
    literal,
    select,
)

from callvault.retention.anonymise import merge_statistics
from callvault.store.cells import bucket_start
from callvault.store.schema.statistics import call_statistics

POOLED = "pooled"  # direction and outcome of a pooled day cell


def small_cells(tenant_id: str, cutoff: datetime, k: int) -> ColumnElement[bool]:
    """Hour cells of fewer than k subjects whose whole hour is past the cutoff."""
    s = call_statistics.c
    return and_(
        s.tenant_id == tenant_id,
        s.direction != POOLED,
        s.subjects < k,
        s.bucket_start <= cutoff - timedelta(hours=1),
    )


def pool_small_cells(conn: Connection, tenant_id: str, cutoff: datetime, k: int) -> int:
    """Merge the tenant's small expired hour cells into pooled day cells; the number merged."""
    s = call_statistics.c
    where = small_cells(tenant_id, cutoff, k)
    day = bucket_start(conn, s.bucket_start, "day")
    query = (
        select(
            s.tenant_id,
            day,
            literal(POOLED),
            literal(POOLED),
            func.sum(s.calls),
            func.max(s.subjects),
            func.sum(s.duration_s),
            func.sum(s.billsec_s),
        )
        .where(where)
        .group_by(s.tenant_id, day)
    )
    merge_statistics(conn, query)
    return conn.execute(delete(call_statistics).where(where)).rowcount or 0
