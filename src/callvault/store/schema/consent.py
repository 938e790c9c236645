"""Consent records (ISO/IEC TS 27560 shaped), their event history, and stored policy versions.

A ``consent_records`` row is one consent instance: one subject, one purpose, bound to the policy
version, the notice shown and the purpose's fingerprint (text, categories, basis) at the moment of the
explicit act (GDPR Art. 7(1): the controller must be able to demonstrate consent). Its ``state`` is the
latest event; ``consent_events`` keeps every event (given, withdrawn, expired, refused) and is never
rewritten, so the history survives withdrawal (Art. 7(3)).

``policy_versions`` holds every policy document the operator loaded, oldest first; the newest is in
force. It is operator-wide: its ``tenant_id`` is always ``_operator`` (like the operator's audit chain),
so it has no foreign key to ``tenants``.
"""

from __future__ import annotations

from sqlalchemy import Column, ForeignKeyConstraint, Index, Integer, String, Table, Text

from callvault.store.schema.core import ID, TENANT_ID, UTCDateTime, metadata

consent_records = Table(
    "consent_records",
    metadata,
    Column("tenant_id", String(TENANT_ID), primary_key=True),
    Column("record_id", String(ID), primary_key=True),
    Column("subject_id", String(ID), nullable=False),  # the surrogate id only
    Column("purpose", String(64), nullable=False),
    Column("policy_version", String(64), nullable=False),
    Column(
        "notice_hash", String(64), nullable=False
    ),  # SHA-256 of the notice the subject was shown
    Column("purpose_fingerprint", String(64), nullable=False),
    Column("method", String(32), nullable=False),  # cli, api, privacy_centre
    Column("actor", String(200), nullable=False),  # who performed the act: subject:<id>, ...
    Column("state", String(16), nullable=False),  # given, withdrawn, expired, refused
    Column("created_at", UTCDateTime, nullable=False),
    Column("state_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime),
    ForeignKeyConstraint(["tenant_id"], ["tenants.tenant_id"]),
    Index("ix_consent_subject", "tenant_id", "subject_id", "purpose", "created_at"),
)

consent_events = Table(
    "consent_events",
    metadata,
    Column("tenant_id", String(TENANT_ID), primary_key=True),
    Column("record_id", String(ID), primary_key=True),
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("event", String(16), nullable=False),  # given, withdrawn, expired, refused
    Column("at", UTCDateTime, nullable=False),
    Column("actor", String(200), nullable=False),
    Column("method", String(32), nullable=False),
    Column("policy_version", String(64), nullable=False),
    ForeignKeyConstraint(
        ["tenant_id", "record_id"],
        ["consent_records.tenant_id", "consent_records.record_id"],
    ),
)

policy_versions = Table(
    "policy_versions",
    metadata,
    Column("tenant_id", String(TENANT_ID), primary_key=True),  # always "_operator"
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("version", String(64), nullable=False),
    Column("digest", String(64), nullable=False),
    Column("document", Text, nullable=False),  # the YAML as loaded
    Column("loaded_at", UTCDateTime, nullable=False),
    Column("loaded_by", String(200), nullable=False),
    Index("ux_policy_version", "tenant_id", "version", unique=True),
)
