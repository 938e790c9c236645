"""The vault's tables (SQLAlchemy Core), identical on SQLite and PostgreSQL.

Rules the schema keeps (DESIGN, "Storage"):
- every table carries ``tenant_id`` and every primary key begins with it (shardable by tenant);
- keys are random surrogates, never a number, e-mail or name;
- no identifier is stored in clear: ``ciphertext`` columns hold AES-GCM output, ``blind_index`` columns
  a keyed HMAC (Art. 32(1)(a), Art. 25).
Alembic migrations under ``migrations/`` create exactly these tables; a test compares the two.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    Dialect,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
)
from sqlalchemy.dialects import sqlite

metadata = MetaData()

ID = 32  # hex of 16 random bytes
TENANT_ID = 64


class _SQLiteDateTime(sqlite.DATETIME):
    """SQLite's DATETIME in its usual text form (``2026-01-31 12:00:00.000000``), converted with
    ``isoformat``/``fromisoformat`` instead of the generic format and regular expression: every
    timestamp the vault writes or reads passes here, and the generic way costs ten times more."""

    def bind_processor(self, dialect: Dialect) -> Any:
        def process(value: datetime | None) -> str | None:
            return None if value is None else value.isoformat(" ", "microseconds")

        return process

    def result_processor(self, dialect: Dialect, coltype: object) -> Any:
        def process(value: str | None) -> datetime | None:
            return None if value is None else datetime.fromisoformat(value)

        return process


class UTCDateTime(TypeDecorator[datetime]):
    """Timestamps are stored as naive UTC and come back timezone-aware, on both databases."""

    impl = DateTime
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> Any:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(_SQLiteDateTime())
        return dialect.type_descriptor(DateTime())

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the vault; use timezone-aware UTC")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC)

    # The two methods above, each fused with the dialect type's own conversion into one function
    # (TypeDecorator would call three per value): every timestamp bound or read passes here, six
    # per consent act. Same values as process_bind_param/process_result_value + the impl's.
    def bind_processor(self, dialect: Dialect) -> Any:
        impl = self.impl_instance.bind_processor(dialect)
        text = isinstance(self.impl_instance, _SQLiteDateTime)

        def process(value: datetime | None) -> Any:
            if value is None:
                return None
            if value.tzinfo is None:
                raise ValueError("naive datetime given to the vault; use timezone-aware UTC")
            naive = value.astimezone(UTC).replace(tzinfo=None)
            if text:
                return naive.isoformat(" ", "microseconds")
            return naive if impl is None else impl(naive)

        return process

    def result_processor(self, dialect: Dialect, coltype: object) -> Any:
        impl = self.impl_instance.result_processor(dialect, coltype)
        text = isinstance(self.impl_instance, _SQLiteDateTime)

        def process(value: Any) -> datetime | None:
            if value is None:
                return None
            if text:
                return datetime.fromisoformat(value).replace(tzinfo=UTC)
            if impl is not None:
                value = impl(value)
                if value is None:
                    return None
            return value.replace(tzinfo=UTC)

        return process


def _tenant_fk() -> ForeignKeyConstraint:
    return ForeignKeyConstraint(["tenant_id"], ["tenants.tenant_id"])


tenants = Table(
    "tenants",
    metadata,
    Column("tenant_id", String(TENANT_ID), primary_key=True),
    Column("name", String(200), nullable=False),
    # The collection profile: the categories this controller instructs us to collect (Art. 28(3)(a)).
    Column("collect", JSON, nullable=False),
    Column("agreement_id", String(100)),
    Column("agreement_from", UTCDateTime),
    Column("agreement_to", UTCDateTime),
    # Retention overrides {kind: ISO period}; only ever shorter than the policy's.
    Column("retention", JSON, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    # ISO 3166-1 alpha-2: the region national numbers in its sources are read in. NULL (tenants
    # added before revision 0002_tenant_country): the operator's country, from the policy.
    Column("country", String(2)),
)

# Subjects and voicemails deleted whose keys the key store must still destroy: written in the transaction that
# deletes them, drained right after it commits (and on the next open after a crash), so a key is
# never destroyed for a change that rolled back, nor kept for one that committed (Art. 17).
shred_queue = Table(
    "shred_queue",
    metadata,
    Column("tenant_id", String(TENANT_ID), primary_key=True),
    Column(
        "kind", String(16), primary_key=True
    ),  # "subject" (data key) or "voicemail" (message key)
    Column("key_id", String(ID), primary_key=True),  # the subject's or the voicemail's id
    Column("queued_at", UTCDateTime, nullable=False),
)

# The vault's own facts, such as its id, which binds it to its key store (crypto/keystore.py).
# Tenant keys live in the key store, apart from the data (DESIGN, "Storage").
vault_meta = Table(
    "vault_meta",
    metadata,
    Column("tenant_id", String(TENANT_ID), primary_key=True),  # "_operator"
    Column("name", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

subjects = Table(
    "subjects",
    metadata,
    Column("tenant_id", String(TENANT_ID), primary_key=True),
    Column("subject_id", String(ID), primary_key=True),
    Column("kind", String(16), nullable=False),  # "user" (tenant's user) or "external" (a caller)
    # Its data key lives in the key store (crypto/keystore.py subject_keys), never here.
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("offboarded_at", UTCDateTime),
    _tenant_fk(),
)

subject_identifiers = Table(
    "subject_identifiers",
    metadata,
    Column("tenant_id", String(TENANT_ID), primary_key=True),
    Column("subject_id", String(ID), primary_key=True),
    # external_id, name, email, phone, extension, department, endpoint
    Column("kind", String(16), primary_key=True),
    Column("slot", Integer, primary_key=True, default=0),
    Column("blind_index", LargeBinary(16)),  # NULL for values never looked up (name, department)
    Column("ciphertext", LargeBinary, nullable=False),
    # A user's number or extension is theirs from this instant (a recycled number): calls and
    # voicemail before it belong to the previous holder. NULL for every other identifier.
    Column("since", UTCDateTime),
    ForeignKeyConstraint(
        ["tenant_id", "subject_id"],
        ["subjects.tenant_id", "subjects.subject_id"],
        ondelete="CASCADE",
    ),
    Index("ix_identifier_lookup", "tenant_id", "blind_index", unique=True),
)

calls = Table(
    "calls",
    metadata,
    Column("tenant_id", String(TENANT_ID), primary_key=True),
    Column("call_id", String(ID), primary_key=True),
    # Blind index over the source's own identity of the record: re-ingesting stores nothing twice.
    Column("source_key", LargeBinary(16), nullable=False),
    # Legs of one call (Asterisk linkedid) share this blind index; NULL when the source has none.
    Column("linked_key", LargeBinary(16)),
    Column("started_at", UTCDateTime, nullable=False),
    Column("answered_at", UTCDateTime),
    Column("ended_at", UTCDateTime),
    Column("duration_s", Integer, nullable=False),
    Column("billsec_s", Integer, nullable=False),
    Column("direction", String(8), nullable=False),  # inbound, outbound, internal
    Column("outcome", String(12), nullable=False),  # answered, no_answer, busy, failed
    Column("caller_subject_id", String(ID)),
    Column("callee_subject_id", String(ID)),
    Column("created_at", UTCDateTime, nullable=False),
    _tenant_fk(),
    Index("ux_calls_source", "tenant_id", "source_key", unique=True),
    Index("ix_calls_started", "tenant_id", "started_at"),
    Index("ix_calls_caller", "tenant_id", "caller_subject_id"),
    Index("ix_calls_callee", "tenant_id", "callee_subject_id"),
)

voicemails = Table(
    "voicemails",
    metadata,
    Column("tenant_id", String(TENANT_ID), primary_key=True),
    Column("voicemail_id", String(ID), primary_key=True),
    Column("source_key", LargeBinary(16), nullable=False),
    Column("mailbox_subject_id", String(ID), nullable=False),
    Column("caller_subject_id", String(ID)),  # NULL when the caller was "Unknown"
    Column("received_at", UTCDateTime, nullable=False),
    Column("duration_s", Integer, nullable=False),
    Column("folder", String(32), nullable=False),
    Column("audio_format", String(8), nullable=False),
    # The recording, AES-GCM under a content key split between the mailbox owner's and the caller's
    # data keys (voicemail_keys): erasing either party crypto-shreds it (collect/voicemail_audio.py).
    Column("audio", LargeBinary, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    _tenant_fk(),
    Index("ux_voicemails_source", "tenant_id", "source_key", unique=True),
    Index("ix_voicemails_received", "tenant_id", "received_at"),
    Index("ix_voicemails_mailbox", "tenant_id", "mailbox_subject_id"),
    Index("ix_voicemails_caller", "tenant_id", "caller_subject_id"),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("tenant_id", String(TENANT_ID), primary_key=True),
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("at", UTCDateTime, nullable=False),
    Column("actor", String(200), nullable=False),
    Column("action", String(64), nullable=False),
    Column("purpose", String(64)),
    Column("legal_basis", String(32)),
    Column("subject_id", String(ID)),  # the surrogate id only, never an identifier
    Column("categories", JSON, nullable=False),
    Column("outcome", String(16), nullable=False),  # allow, deny, ok, error
    Column("reason", Text),
    Column("details", JSON, nullable=False),  # counts, field names, rules: never values
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
)

# The head of each tenant's chain: deleting the newest entries would otherwise go unnoticed.
audit_heads = Table(
    "audit_heads",
    metadata,
    Column("tenant_id", String(TENANT_ID), primary_key=True),
    Column("seq", Integer, nullable=False),
    Column("hash", String(64), nullable=False),
)
