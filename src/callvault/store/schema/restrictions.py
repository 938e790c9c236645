"""Restrictions (GDPR Art. 18) and objections (Art. 21) recorded per subject.

A restriction row is active from ``restricted_at`` until ``lifted_at``; while active the subject's data
is stored but processed for no purpose. An objection row names one purpose (based on legitimate
interest) that may no longer process the subject's data until the objection is withdrawn. Rows keep
their history (lifted/withdrawn, never deleted) so that a decision at a past instant can be explained.
"""

from __future__ import annotations

from sqlalchemy import Column, ForeignKeyConstraint, Index, String, Table

from callvault.store.schema.core import ID, TENANT_ID, UTCDateTime, metadata


def _subject_fk() -> ForeignKeyConstraint:
    # Erasure of the subject (Art. 17) takes its restriction history with it.
    return ForeignKeyConstraint(
        ["tenant_id", "subject_id"],
        ["subjects.tenant_id", "subjects.subject_id"],
        ondelete="CASCADE",
    )


subject_restrictions = Table(
    "subject_restrictions",
    metadata,
    Column("tenant_id", String(TENANT_ID), primary_key=True),
    Column("restriction_id", String(ID), primary_key=True),
    Column("subject_id", String(ID), nullable=False),
    Column("restricted_at", UTCDateTime, nullable=False),
    Column("lifted_at", UTCDateTime),
    ForeignKeyConstraint(["tenant_id"], ["tenants.tenant_id"]),
    _subject_fk(),
    Index("ix_restrictions_subject", "tenant_id", "subject_id"),
)

subject_objections = Table(
    "subject_objections",
    metadata,
    Column("tenant_id", String(TENANT_ID), primary_key=True),
    Column("objection_id", String(ID), primary_key=True),
    Column("subject_id", String(ID), nullable=False),
    Column("purpose", String(64), nullable=False),
    Column("objected_at", UTCDateTime, nullable=False),
    Column("withdrawn_at", UTCDateTime),
    ForeignKeyConstraint(["tenant_id"], ["tenants.tenant_id"]),
    _subject_fk(),
    Index("ix_objections_subject", "tenant_id", "subject_id"),
)
