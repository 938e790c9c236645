"""Where a followed source was read up to (``callvault ingest calls --follow``).

One row per tenant and source. ``position`` is the file's identity and offset (``dev``, ``ino``,
``offset``, ``line``) or, for Kamailio's database, the last id taken per table. It is written in
the transaction that stores the records it covers, so a kill at any moment and a restart store
every record exactly once. ``source_id`` is a hash of the format and the source's path or URL
(a URL may carry a password: it is never stored).
"""

from __future__ import annotations

from sqlalchemy import JSON, Column, ForeignKeyConstraint, String, Table

from callvault.store.schema.core import ID, TENANT_ID, UTCDateTime, metadata

follow_checkpoints = Table(
    "follow_checkpoints",
    metadata,
    Column("tenant_id", String(TENANT_ID), primary_key=True),
    Column("source_id", String(ID), primary_key=True),
    Column("format", String(32), nullable=False),
    Column("position", JSON, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    ForeignKeyConstraint(["tenant_id"], ["tenants.tenant_id"]),
)
