"""Suppression of small statistics cells: what survives retention must not be event-level (Recital 26).

``call_statistics`` (store/schema/statistics.py) holds one base cell per tenant, hour, direction and
outcome, whose ``subjects`` is its population: the tenant's users among its calls' parties
(:func:`callvault.store.cells.population`). In a quiet hour a cell describes one or two people's
calls: kept, it would sit beside the billing copy (day, billed seconds, payer) and, joined with it,
give the hour, direction and duration of a named user's call (DESIGN, "Anonymisation is not deletion
of the name"; issue 12).

So at the end of each tenant's call anonymisation in a run (and of an ingest that brought calls
already past their period), inside that transaction and so atomic with its audit entry, every cell
of that tenant of fewer than k people (``policy.k_anonymity``, :func:`callvault.store.cells.meets_k`)
whose hour lies wholly before the cutoff is deleted: it is never published (statistics suppress it
anyway) and never joinable with billing. Cells of k or more people keep their hour. Hours not yet
wholly expired are left for a later run. Pooled day cells written by earlier builds (direction
``pooled``) always have fewer than k people, and go the same way.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Connection, and_, delete

from callvault.store.schema.statistics import call_statistics


def small_cells(tenant_id: str, cutoff: datetime, k: int) -> ColumnElement[bool]:
    """Cells of fewer than k people whose whole hour is past the cutoff (the rule of
    :func:`callvault.store.cells.meets_k`, as SQL)."""
    s = call_statistics.c
    return and_(
        s.tenant_id == tenant_id,
        s.subjects < k,
        s.bucket_start <= cutoff - timedelta(hours=1),
    )


def suppress_small_cells(conn: Connection, tenant_id: str, cutoff: datetime, k: int) -> int:
    """Delete the tenant's small expired cells; the number deleted."""
    statement = delete(call_statistics).where(small_cells(tenant_id, cutoff, k))
    return conn.execute(statement).rowcount or 0
