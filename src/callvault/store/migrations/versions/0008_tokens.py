"""API bearer tokens, stored only as hashes (issue 14).

Revision ID: 0008_tokens
Revises: 0007_follow_checkpoints
"""

import sqlalchemy as sa
from alembic import op

revision = "0008_tokens"
down_revision = "0007_follow_checkpoints"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "api_tokens",
        sa.Column("tenant_id", sa.String(64), primary_key=True),
        sa.Column("token_id", sa.String(32), primary_key=True),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("purposes", sa.Text, nullable=False),
        sa.Column("subject_id", sa.String(32)),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("revoked_at", sa.DateTime),
        sa.ForeignKeyConstraint(
            ["tenant_id", "subject_id"],
            ["subjects.tenant_id", "subjects.subject_id"],
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_api_tokens_hash", "api_tokens", ["token_hash"])


def downgrade() -> None:
    op.drop_index("ix_api_tokens_hash", "api_tokens")
    op.drop_table("api_tokens")
