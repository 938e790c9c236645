"""Support sessions for error diagnosis, each with its own (destroyable) pseudonym key.

Revision ID: 0003_support
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_support"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "support_sessions",
        sa.Column("tenant_id", sa.String(64), primary_key=True),
        sa.Column("session_id", sa.String(32), primary_key=True),
        sa.Column("ticket", sa.String(100), nullable=False),
        sa.Column("engineer", sa.String(200), nullable=False),
        sa.Column("opened_at", sa.DateTime, nullable=False),
        sa.Column("expires_at", sa.DateTime, nullable=False),
        sa.Column("closed_at", sa.DateTime),
        sa.Column("wrapped_key", sa.LargeBinary),
        sa.Column("reads", sa.Integer, nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.tenant_id"]),
    )
    op.create_index("ix_support_ticket", "support_sessions", ["tenant_id", "ticket"])


def downgrade() -> None:
    op.drop_table("support_sessions")
