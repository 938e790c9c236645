"""The privacy centre's and the admin console's state, shared by every serving process (issue 15).

Nothing here is readable without what only the visitor holds: a sign-in code, a session id or a
client address is stored as a keyed hash (HMAC-SHA256 under an operator key from the key store), and
what a session carries (an admin's token, the address a code was asked for) is sealed under a key
derived from the session id in the visitor's cookie (Art. 32(1)). Rows belong to a tenant and go
with its subject (erasure, Art. 17, ends its codes and sessions). A visitor who has not signed in
has no row at all: an anonymous page view writes nothing.
"""

from __future__ import annotations

from sqlalchemy import (
    Column,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
)

from callvault.store.schema.core import ID, TENANT_ID, UTCDateTime, metadata

HASH = 64  # hex of an HMAC-SHA256


def _subject_fk() -> ForeignKeyConstraint:
    return ForeignKeyConstraint(
        ["tenant_id", "subject_id"],
        ["subjects.tenant_id", "subjects.subject_id"],
        ondelete="CASCADE",
    )


web_sessions = Table(
    "web_sessions",
    metadata,
    Column("tenant_id", String(TENANT_ID), primary_key=True),
    Column("session_hash", String(HASH), primary_key=True),
    Column("kind", String(16), nullable=False),  # anonymous (a code asked for) | admin | subject
    Column("subject_id", String(ID)),
    Column("sealed", LargeBinary),  # token / address / receipt, under a key from the session id
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    _subject_fk(),
    Index("ix_web_sessions_hash", "session_hash"),
)

sign_in_codes = Table(
    "sign_in_codes",
    metadata,
    Column("tenant_id", String(TENANT_ID), primary_key=True),
    Column("code_id", String(ID), primary_key=True),
    Column("slot", String(HASH), nullable=False),  # keyed hash of the address asked for
    Column("client", String(HASH)),  # keyed hash of the asking client's address
    Column("subject_id", String(ID)),  # NULL: the address is not held (the row never redeems)
    Column("code_hash", String(HASH), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("attempts_left", Integer, nullable=False),
    Column("used_at", UTCDateTime),
    _subject_fk(),
    Index("ix_sign_in_codes_slot", "tenant_id", "slot", "created_at"),
    Index("ix_sign_in_codes_client", "tenant_id", "client", "created_at"),
)

# One row per code entered: the per-client limit on guessing (the per-code limit is attempts_left).
sign_in_attempts = Table(
    "sign_in_attempts",
    metadata,
    Column("tenant_id", String(TENANT_ID), primary_key=True),
    Column("attempt_id", String(ID), primary_key=True),
    Column("client", String(HASH), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Index("ix_sign_in_attempts_client", "tenant_id", "client", "at"),
)
