"""Checkpoints of followed call-record sources (issue 16: live telephony).

Revision ID: 0007_follow_checkpoints
Revises: 0006_subject_keys

``follow_checkpoints``: how far ``ingest calls --follow`` has read a source (file identity and
offset, or the last row id per Kamailio table), written with the records it covers.
"""

import sqlalchemy as sa
from alembic import op

revision = "0007_follow_checkpoints"
down_revision = "0006_subject_keys"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "follow_checkpoints",
        sa.Column("tenant_id", sa.String(64), primary_key=True),
        sa.Column("source_id", sa.String(32), primary_key=True),
        sa.Column("format", sa.String(32), nullable=False),
        sa.Column("position", sa.JSON, nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.tenant_id"]),
    )


def downgrade() -> None:
    op.drop_table("follow_checkpoints")
