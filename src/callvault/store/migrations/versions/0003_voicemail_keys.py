"""Voicemail key shares (content key split between mailbox owner and caller).

Revision ID: 0003_voicemail_keys
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_voicemail_keys"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "voicemail_keys",
        sa.Column("tenant_id", sa.String(64), primary_key=True),
        sa.Column("voicemail_id", sa.String(32), primary_key=True),
        sa.Column("role", sa.String(8), primary_key=True),
        sa.Column("subject_id", sa.String(32), nullable=False),
        sa.Column("share", sa.LargeBinary, nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.tenant_id"]),
        sa.ForeignKeyConstraint(
            ["tenant_id", "voicemail_id"],
            ["voicemails.tenant_id", "voicemails.voicemail_id"],
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "subject_id"],
            ["subjects.tenant_id", "subjects.subject_id"],
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_voicemail_keys_subject", "voicemail_keys", ["tenant_id", "subject_id"])


def downgrade() -> None:
    op.drop_table("voicemail_keys")
