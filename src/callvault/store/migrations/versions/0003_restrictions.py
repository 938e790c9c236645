"""Restrictions (Art. 18) and objections (Art. 21) per subject.

Revision ID: 0003_restrictions
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_restrictions"
down_revision = "0001"
branch_labels = None
depends_on = None


def _subject_fk() -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["tenant_id", "subject_id"],
        ["subjects.tenant_id", "subjects.subject_id"],
        ondelete="CASCADE",
    )


def upgrade() -> None:
    op.create_table(
        "subject_restrictions",
        sa.Column("tenant_id", sa.String(64), primary_key=True),
        sa.Column("restriction_id", sa.String(32), primary_key=True),
        sa.Column("subject_id", sa.String(32), nullable=False),
        sa.Column("restricted_at", sa.DateTime, nullable=False),
        sa.Column("lifted_at", sa.DateTime),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.tenant_id"]),
        _subject_fk(),
    )
    op.create_index("ix_restrictions_subject", "subject_restrictions", ["tenant_id", "subject_id"])
    op.create_table(
        "subject_objections",
        sa.Column("tenant_id", sa.String(64), primary_key=True),
        sa.Column("objection_id", sa.String(32), primary_key=True),
        sa.Column("subject_id", sa.String(32), nullable=False),
        sa.Column("purpose", sa.String(64), nullable=False),
        sa.Column("objected_at", sa.DateTime, nullable=False),
        sa.Column("withdrawn_at", sa.DateTime),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.tenant_id"]),
        _subject_fk(),
    )
    op.create_index("ix_objections_subject", "subject_objections", ["tenant_id", "subject_id"])


def downgrade() -> None:
    op.drop_table("subject_objections")
    op.drop_table("subject_restrictions")
