"""Support sessions: the time-boxed window in which error diagnosis may read (GDPR Art. 6(1)(b)).

Each session has its own pseudonym key, kept wrapped in the key store (never here). Closing the session
destroys it there, so tokens handed out inside it can never be recomputed or linked to tokens of
another session, not even from a backup of the data (Art. 4(5), Art. 25(1)).

A session is opened on the instruction of a tenant admin (``approved_by``, the controller's
instruction: Art. 28(3)(a)) and covers only the subjects of its ticket (``support_session_subjects``):
reads of anyone else in the session are refused (Art. 5(1)(c), Art. 25(2)).

A row with no approver, not closed and an empty window (``expires_at == opened_at``) is an engineer's
request awaiting the tenant admin (:mod:`callvault.processing.support_requests`), not a session.
"""

from __future__ import annotations

from sqlalchemy import Column, ForeignKeyConstraint, Index, Integer, String, Table

from callvault.store.schema.core import ID, TENANT_ID, UTCDateTime, metadata

support_sessions = Table(
    "support_sessions",
    metadata,
    Column("tenant_id", String(TENANT_ID), primary_key=True),
    Column("session_id", String(ID), primary_key=True),
    Column("ticket", String(100), nullable=False),
    Column("engineer", String(200), nullable=False),
    Column("opened_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("closed_at", UTCDateTime),
    Column("reads", Integer, nullable=False),
    Column("approved_by", String(200)),  # tenant-admin:<name>; NULL only for sessions before 0002
    ForeignKeyConstraint(["tenant_id"], ["tenants.tenant_id"]),
    Index("ix_support_ticket", "tenant_id", "ticket"),
)

support_session_subjects = Table(
    "support_session_subjects",
    metadata,
    Column("tenant_id", String(TENANT_ID), primary_key=True),
    Column("session_id", String(ID), primary_key=True),
    Column("subject_id", String(ID), primary_key=True),
    ForeignKeyConstraint(
        ["tenant_id", "session_id"],
        ["support_sessions.tenant_id", "support_sessions.session_id"],
        ondelete="CASCADE",
    ),
    # Erasure of the subject (Art. 17) takes it out of every session's scope.
    ForeignKeyConstraint(
        ["tenant_id", "subject_id"],
        ["subjects.tenant_id", "subjects.subject_id"],
        ondelete="CASCADE",
    ),
)
