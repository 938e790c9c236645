"""Retention's tables: the billing subset under legal hold, and the record of retention runs.

``billing_records`` is what the Danish Bookkeeping Act obliges the operator to keep of a call after the
call record itself is anonymised (GDPR Art. 6(1)(c), Art. 17(3)(b)): the day, the billable seconds and
the paying user's surrogate id; no number, no extension, no call id. It is read only for the purpose
``bookkeeping`` (through the processing gate, :mod:`callvault.processing.billing`) and deleted when its own
period ends. Its statistics counterpart, ``call_statistics`` (store/schema/statistics.py), keeps hour
cells of k or more people only: retention deletes smaller cells once their hour has expired
(:mod:`callvault.retention.suppression`), so a billing record has no quiet-day cell to be joined with.

``retention_runs`` has one row per tenant and run: a run that started and never finished (killed) stays
``running`` and ``retention status`` says so (Art. 5(2): the operator must be able to show that deletion
happens).
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Column,
    Date,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Table,
)

from callvault.store.schema.core import ID, TENANT_ID, UTCDateTime, metadata

billing_records = Table(
    "billing_records",
    metadata,
    Column("tenant_id", String(TENANT_ID), primary_key=True),
    Column("record_id", String(ID), primary_key=True),  # a new surrogate, never the call's id
    Column("call_date", Date, nullable=False),  # the day only
    Column("billsec_s", Integer, nullable=False),
    Column("payer_subject_id", String(ID)),  # the tenant's user who placed the call
    Column("created_at", UTCDateTime, nullable=False),
    ForeignKeyConstraint(["tenant_id"], ["tenants.tenant_id"]),
    Index("ix_billing_date", "tenant_id", "call_date"),
    Index("ix_billing_payer", "tenant_id", "payer_subject_id"),
)

retention_runs = Table(
    "retention_runs",
    metadata,
    Column("tenant_id", String(TENANT_ID), primary_key=True),
    Column("run_id", String(ID), primary_key=True),
    Column("as_of", UTCDateTime, nullable=False),
    Column("started_at", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime),
    Column("state", String(16), nullable=False),  # running, done, failed
    Column("counts", JSON, nullable=False),
    Column("error", String(200)),  # the error class and message, never an identifier
    ForeignKeyConstraint(["tenant_id"], ["tenants.tenant_id"]),
    Index("ix_retention_runs_started", "tenant_id", "started_at"),
)
