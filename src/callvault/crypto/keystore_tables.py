"""The key store's tables, and reading the wrapped keys an older data database still holds.

Created by ``metadata.create_all`` when a key store is opened (it is small and versioned with the
code); :mod:`callvault.crypto.keystore` is the only module that writes them.
"""

from __future__ import annotations

from sqlalchemy import (
    Column,
    DateTime,
    Engine,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    inspect,
    text,
)

metadata = MetaData()

keystore_meta = Table(
    "keystore_meta",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

# Tenant keys (blind index, pseudonym) and the operator's keys (audit chain, checkpoint signing).
vault_keys = Table(
    "vault_keys",
    metadata,
    Column("tenant_id", String(64), primary_key=True),
    Column("purpose", String(64), primary_key=True),  # blind_index, pseudonym, session:<id>, ...
    Column("wrapped_key", LargeBinary, nullable=False),
    Column("created_at", DateTime, nullable=False),
)

# Erasure tombstones (Art. 17): per erased subject, a keyed hash of each blind index it had. Kept here,
# apart from the data, so that a restored backup of the data database can be erased again from them
# (``dsr reapply-erasures``); they hold no identifier and no blind index.
erasure_tombstones = Table(
    "erasure_tombstones",
    metadata,
    Column("tenant_id", String(64), primary_key=True),
    Column("marker", LargeBinary(32), primary_key=True),
    Column("request_id", String(36), nullable=False),
    Column("erased_at", DateTime, nullable=False),
)


# Subjects' data keys: destroying one crypto-shreds every copy of the subject's ciphertext (Art. 17).
subject_keys = Table(
    "subject_keys",
    metadata,
    Column("tenant_id", String(64), primary_key=True),
    Column("subject_id", String(32), primary_key=True),
    Column("wrapped_dek", LargeBinary, nullable=False),
    Column("created_at", DateTime, nullable=False),
)

# Each voicemail message's own key, part of its content key: destroying it when the message is
# deleted (retention, erasure) makes the recording unreadable in every backup of the data too.
message_keys = Table(
    "message_keys",
    metadata,
    Column("tenant_id", String(64), primary_key=True),
    Column("voicemail_id", String(32), primary_key=True),
    Column("wrapped_key", LargeBinary, nullable=False),
    Column("created_at", DateTime, nullable=False),
)


def legacy_tenant_keys(engine: Engine) -> list[tuple[str, str, bytes]]:
    """Tenant keys still in the data database's ``tenant_keys`` table (revision 0001), if any."""
    if not inspect(engine).has_table("tenant_keys"):
        return []
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT tenant_id, purpose, wrapped_key FROM tenant_keys"))
        return [(r.tenant_id, r.purpose, bytes(r.wrapped_key)) for r in rows]


def legacy_subject_keys(engine: Engine) -> list[tuple[str, str, bytes]]:
    """Subjects' wrapped data keys still in the data database's ``subjects`` (before 0006)."""
    if not inspect(engine).has_table("subjects"):
        return []
    if "wrapped_dek" not in {c["name"] for c in inspect(engine).get_columns("subjects")}:
        return []
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT tenant_id, subject_id, wrapped_dek FROM subjects"))
        return [(r.tenant_id, r.subject_id, bytes(r.wrapped_dek)) for r in rows]
