"""The vault: tenants, keys, subjects, identifiers, calls, voicemails, audit log.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

ID = 32
TENANT = 64


def _tenant_fk() -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(["tenant_id"], ["tenants.tenant_id"])


def upgrade() -> None:
    op.create_table(
        "tenants",
        sa.Column("tenant_id", sa.String(TENANT), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("collect", sa.JSON, nullable=False),
        sa.Column("agreement_id", sa.String(100)),
        sa.Column("agreement_from", sa.DateTime),
        sa.Column("agreement_to", sa.DateTime),
        sa.Column("retention", sa.JSON, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "tenant_keys",
        sa.Column("tenant_id", sa.String(TENANT), primary_key=True),
        sa.Column("purpose", sa.String(32), primary_key=True),
        sa.Column("wrapped_key", sa.LargeBinary, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        _tenant_fk(),
    )
    op.create_table(
        "subjects",
        sa.Column("tenant_id", sa.String(TENANT), primary_key=True),
        sa.Column("subject_id", sa.String(ID), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("wrapped_dek", sa.LargeBinary, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
        sa.Column("offboarded_at", sa.DateTime),
        _tenant_fk(),
    )
    op.create_table(
        "subject_identifiers",
        sa.Column("tenant_id", sa.String(TENANT), primary_key=True),
        sa.Column("subject_id", sa.String(ID), primary_key=True),
        sa.Column("kind", sa.String(16), primary_key=True),
        sa.Column("slot", sa.Integer, primary_key=True),
        sa.Column("blind_index", sa.LargeBinary(16)),
        sa.Column("ciphertext", sa.LargeBinary, nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "subject_id"],
            ["subjects.tenant_id", "subjects.subject_id"],
            ondelete="CASCADE",
        ),
    )
    op.create_index(
        "ix_identifier_lookup", "subject_identifiers", ["tenant_id", "blind_index"], unique=True
    )
    op.create_table(
        "calls",
        sa.Column("tenant_id", sa.String(TENANT), primary_key=True),
        sa.Column("call_id", sa.String(ID), primary_key=True),
        sa.Column("source_key", sa.LargeBinary(16), nullable=False),
        sa.Column("linked_key", sa.LargeBinary(16)),
        sa.Column("started_at", sa.DateTime, nullable=False),
        sa.Column("answered_at", sa.DateTime),
        sa.Column("ended_at", sa.DateTime),
        sa.Column("duration_s", sa.Integer, nullable=False),
        sa.Column("billsec_s", sa.Integer, nullable=False),
        sa.Column("direction", sa.String(8), nullable=False),
        sa.Column("outcome", sa.String(12), nullable=False),
        sa.Column("caller_subject_id", sa.String(ID)),
        sa.Column("callee_subject_id", sa.String(ID)),
        sa.Column("created_at", sa.DateTime, nullable=False),
        _tenant_fk(),
    )
    op.create_index("ux_calls_source", "calls", ["tenant_id", "source_key"], unique=True)
    op.create_index("ix_calls_started", "calls", ["tenant_id", "started_at"])
    op.create_index("ix_calls_caller", "calls", ["tenant_id", "caller_subject_id"])
    op.create_index("ix_calls_callee", "calls", ["tenant_id", "callee_subject_id"])
    op.create_table(
        "voicemails",
        sa.Column("tenant_id", sa.String(TENANT), primary_key=True),
        sa.Column("voicemail_id", sa.String(ID), primary_key=True),
        sa.Column("source_key", sa.LargeBinary(16), nullable=False),
        sa.Column("mailbox_subject_id", sa.String(ID), nullable=False),
        sa.Column("caller_subject_id", sa.String(ID)),
        sa.Column("received_at", sa.DateTime, nullable=False),
        sa.Column("duration_s", sa.Integer, nullable=False),
        sa.Column("folder", sa.String(32), nullable=False),
        sa.Column("audio_format", sa.String(8), nullable=False),
        sa.Column("audio", sa.LargeBinary, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        _tenant_fk(),
    )
    op.create_index("ux_voicemails_source", "voicemails", ["tenant_id", "source_key"], unique=True)
    op.create_index("ix_voicemails_received", "voicemails", ["tenant_id", "received_at"])
    op.create_index("ix_voicemails_mailbox", "voicemails", ["tenant_id", "mailbox_subject_id"])
    op.create_index("ix_voicemails_caller", "voicemails", ["tenant_id", "caller_subject_id"])
    op.create_table(
        "audit_log",
        sa.Column("tenant_id", sa.String(TENANT), primary_key=True),
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("at", sa.DateTime, nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("purpose", sa.String(64)),
        sa.Column("legal_basis", sa.String(32)),
        sa.Column("subject_id", sa.String(ID)),
        sa.Column("categories", sa.JSON, nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text),
        sa.Column("details", sa.JSON, nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    op.create_table(
        "audit_heads",
        sa.Column("tenant_id", sa.String(TENANT), primary_key=True),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )


def downgrade() -> None:
    for table in (
        "audit_heads",
        "audit_log",
        "voicemails",
        "calls",
        "subject_identifiers",
        "subjects",
        "tenant_keys",
        "tenants",
    ):
        op.drop_table(table)
