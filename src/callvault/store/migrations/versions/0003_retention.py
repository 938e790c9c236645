"""Retention: billing records under legal hold, retention runs.

Revision ID: 0003_retention
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_retention"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "billing_records",
        sa.Column("tenant_id", sa.String(64), primary_key=True),
        sa.Column("record_id", sa.String(32), primary_key=True),
        sa.Column("call_date", sa.Date, nullable=False),
        sa.Column("billsec_s", sa.Integer, nullable=False),
        sa.Column("payer_subject_id", sa.String(32)),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.tenant_id"]),
    )
    op.create_index("ix_billing_date", "billing_records", ["tenant_id", "call_date"])
    op.create_index("ix_billing_payer", "billing_records", ["tenant_id", "payer_subject_id"])
    op.create_table(
        "retention_runs",
        sa.Column("tenant_id", sa.String(64), primary_key=True),
        sa.Column("run_id", sa.String(32), primary_key=True),
        sa.Column("as_of", sa.DateTime, nullable=False),
        sa.Column("started_at", sa.DateTime, nullable=False),
        sa.Column("finished_at", sa.DateTime),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("counts", sa.JSON, nullable=False),
        sa.Column("error", sa.String(200)),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.tenant_id"]),
    )
    op.create_index("ix_retention_runs_started", "retention_runs", ["tenant_id", "started_at"])


def downgrade() -> None:
    op.drop_index("ix_retention_runs_started", "retention_runs")
    op.drop_table("retention_runs")
    op.drop_index("ix_billing_payer", "billing_records")
    op.drop_index("ix_billing_date", "billing_records")
    op.drop_table("billing_records")
