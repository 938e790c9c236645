"""Anonymous call statistics.

Revision ID: 0002_statistics
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002_statistics"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "call_statistics",
        sa.Column("tenant_id", sa.String(64), primary_key=True),
        sa.Column("bucket_start", sa.DateTime, primary_key=True),
        sa.Column("direction", sa.String(8), primary_key=True),
        sa.Column("outcome", sa.String(12), primary_key=True),
        sa.Column("calls", sa.Integer, nullable=False),
        sa.Column("subjects", sa.Integer, nullable=False),
        sa.Column("duration_s", sa.Integer, nullable=False),
        sa.Column("billsec_s", sa.Integer, nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.tenant_id"]),
    )


def downgrade() -> None:
    op.drop_table("call_statistics")
