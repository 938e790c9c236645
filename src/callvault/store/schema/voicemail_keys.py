"""Key shares of voicemail recordings: one per party, each sealed under that party's data key.

A recording is encrypted under a per-message content key derived from the shares of its mailbox
owner and of its caller (when known). Destroying *either* party's data key (erasure, Art. 17)
makes the content key unrecoverable, so copies of the recording in backups are crypto-shredded
for the caller as well as for the owner. A share row goes with its voicemail and with its subject
(ON DELETE CASCADE).
"""

from __future__ import annotations

from sqlalchemy import Column, ForeignKeyConstraint, Index, LargeBinary, String, Table

from callvault.store.schema.core import ID, TENANT_ID, metadata

voicemail_keys = Table(
    "voicemail_keys",
    metadata,
    Column("tenant_id", String(TENANT_ID), primary_key=True),
    Column("voicemail_id", String(ID), primary_key=True),
    Column("role", String(8), primary_key=True),  # "owner" or "caller"
    Column("subject_id", String(ID), nullable=False),
    Column("share", LargeBinary, nullable=False),  # AES-GCM under the subject's data key
    ForeignKeyConstraint(["tenant_id"], ["tenants.tenant_id"]),
    ForeignKeyConstraint(
        ["tenant_id", "voicemail_id"],
        ["voicemails.tenant_id", "voicemails.voicemail_id"],
        ondelete="CASCADE",
    ),
    ForeignKeyConstraint(
        ["tenant_id", "subject_id"],
        ["subjects.tenant_id", "subjects.subject_id"],
        ondelete="CASCADE",
    ),
    Index("ix_voicemail_keys_subject", "tenant_id", "subject_id"),
)
