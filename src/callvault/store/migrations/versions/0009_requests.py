"""Data subject requests as records (issue 13).

Revision ID: 0009_requests
Revises: 0008_tokens

``subject_requests``: one row per request (type, requester, channel, verification, due date,
extension, state, outcome, evidence). (Erasure tombstones live in the key
store, apart from this database, so a restored backup cannot lose them.)
"""

import sqlalchemy as sa
from alembic import op

revision = "0009_requests"
down_revision = "0008_tokens"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "subject_requests",
        sa.Column("tenant_id", sa.String(64), primary_key=True),
        sa.Column("request_id", sa.String(36), primary_key=True),
        sa.Column("type", sa.String(16), nullable=False),
        sa.Column("subject_id", sa.String(32)),
        sa.Column("requested_by", sa.String(200), nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("received_at", sa.DateTime, nullable=False),
        sa.Column("verification_method", sa.String(32)),
        sa.Column("verified_at", sa.DateTime),
        sa.Column("verified_by", sa.String(200)),
        sa.Column("due_at", sa.DateTime, nullable=False),
        sa.Column("extended_due_at", sa.DateTime),
        sa.Column("extension_reason", sa.Text),
        sa.Column("extension_notice_at", sa.DateTime),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("state_at", sa.DateTime, nullable=False),
        sa.Column("outcome", sa.Text),
        sa.Column("evidence", sa.JSON, nullable=False),
        sa.Column("callbacks", sa.JSON, nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.tenant_id"]),
    )
    op.create_index("ix_requests_subject", "subject_requests", ["tenant_id", "subject_id"])
    op.create_index("ix_requests_state", "subject_requests", ["tenant_id", "state", "due_at"])


def downgrade() -> None:
    op.drop_index("ix_requests_state", "subject_requests")
    op.drop_index("ix_requests_subject", "subject_requests")
    op.drop_table("subject_requests")
