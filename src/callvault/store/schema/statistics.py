"""Anonymous call statistics: what survives of call records after retention (DESIGN, "Anonymisation").

A row is one base cell: tenant, hour bucket, direction, outcome. It holds counts and rounded durations
only: no number, extension, subject id, call id or free text. ``subjects`` is the cell's population,
the distinct users of the tenant among its calls' parties (:func:`callvault.store.cells.population`);
cells are merged with ``max`` (an undercount), so suppression of cells under k people errs on the side
of suppressing (Recital 26). Cells under k are deleted once their hour has expired.
"""

from __future__ import annotations

from sqlalchemy import Column, ForeignKeyConstraint, Integer, String, Table

from callvault.store.schema.core import TENANT_ID, UTCDateTime, metadata

call_statistics = Table(
    "call_statistics",
    metadata,
    Column("tenant_id", String(TENANT_ID), primary_key=True),
    Column("bucket_start", UTCDateTime, primary_key=True),  # the hour, UTC
    Column("direction", String(8), primary_key=True),
    Column("outcome", String(12), primary_key=True),
    Column("calls", Integer, nullable=False),
    Column("subjects", Integer, nullable=False),
    Column("duration_s", Integer, nullable=False),  # sum of durations rounded to 10 s each
    Column("billsec_s", Integer, nullable=False),  # sum of billable seconds rounded to 10 s each
    ForeignKeyConstraint(["tenant_id"], ["tenants.tenant_id"]),
)
