"""API bearer tokens: only a hash is stored, never the token (Art. 32(1): a stolen copy of the
database must not let anyone act as the tenant, its subjects or its services).

A token is bound to one tenant and one role; a service token to the purposes it was given, a subject
token to one subject. Revocation sets ``revoked_at``; the row stays so the audit log can name it.
"""

from __future__ import annotations

from sqlalchemy import Column, ForeignKeyConstraint, Index, String, Table, Text

from callvault.store.schema.core import ID, TENANT_ID, UTCDateTime, metadata

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("tenant_id", String(TENANT_ID), primary_key=True),  # "_operator" for operator_admin
    Column("token_id", String(ID), primary_key=True),
    Column("token_hash", String(64), nullable=False),  # SHA-256 hex of the secret token
    Column("role", String(32), nullable=False),
    Column("name", String(64), nullable=False),
    Column("purposes", Text, nullable=False),  # space-separated; empty unless role is service
    Column("subject_id", String(ID)),  # the subject of a subject token
    Column("created_at", UTCDateTime, nullable=False),
    Column("revoked_at", UTCDateTime),
    # Erasure of the subject (Art. 17) ends its tokens with it.
    ForeignKeyConstraint(
        ["tenant_id", "subject_id"],
        ["subjects.tenant_id", "subjects.subject_id"],
        ondelete="CASCADE",
    ),
    Index("ix_api_tokens_hash", "token_hash"),
)
