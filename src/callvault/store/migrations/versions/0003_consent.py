"""Consent records, consent events and stored policy versions.

Revision ID: 0003_consent
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_consent"
down_revision = "0001"
branch_labels = None
depends_on = None

ID = 32
TENANT = 64


def upgrade() -> None:
    op.create_table(
        "consent_records",
        sa.Column("tenant_id", sa.String(TENANT), primary_key=True),
        sa.Column("record_id", sa.String(ID), primary_key=True),
        sa.Column("subject_id", sa.String(ID), nullable=False),
        sa.Column("purpose", sa.String(64), nullable=False),
        sa.Column("policy_version", sa.String(64), nullable=False),
        sa.Column("notice_hash", sa.String(64), nullable=False),
        sa.Column("purpose_fingerprint", sa.String(64), nullable=False),
        sa.Column("method", sa.String(32), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("state_at", sa.DateTime, nullable=False),
        sa.Column("expires_at", sa.DateTime),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.tenant_id"]),
    )
    op.create_index(
        "ix_consent_subject",
        "consent_records",
        ["tenant_id", "subject_id", "purpose", "created_at"],
    )
    op.create_table(
        "consent_events",
        sa.Column("tenant_id", sa.String(TENANT), primary_key=True),
        sa.Column("record_id", sa.String(ID), primary_key=True),
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("event", sa.String(16), nullable=False),
        sa.Column("at", sa.DateTime, nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("method", sa.String(32), nullable=False),
        sa.Column("policy_version", sa.String(64), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "record_id"],
            ["consent_records.tenant_id", "consent_records.record_id"],
        ),
    )
    op.create_table(
        "policy_versions",
        sa.Column("tenant_id", sa.String(TENANT), primary_key=True),
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("version", sa.String(64), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("document", sa.Text, nullable=False),
        sa.Column("loaded_at", sa.DateTime, nullable=False),
        sa.Column("loaded_by", sa.String(200), nullable=False),
    )
    op.create_index("ux_policy_version", "policy_versions", ["tenant_id", "version"], unique=True)


def downgrade() -> None:
    op.drop_table("policy_versions")
    op.drop_table("consent_events")
    op.drop_table("consent_records")
