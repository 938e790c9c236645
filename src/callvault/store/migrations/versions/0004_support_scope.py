"""Support sessions: the approving tenant admin and the subjects of the ticket (issue 12.7).

Revision ID: 0004_support_scope
Revises: 0003_tenant_country

A session is opened on the instruction of a tenant admin (``approved_by``) and covers only the
subjects named for its ticket (``support_session_subjects``). Sessions opened before this revision
have no approver and no subjects: they cover nobody, so reads in them are refused.
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_support_scope"
down_revision = "0003_tenant_country"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("support_sessions") as batch:
        batch.add_column(sa.Column("approved_by", sa.String(200)))
    op.create_table(
        "support_session_subjects",
        sa.Column("tenant_id", sa.String(64), primary_key=True),
        sa.Column("session_id", sa.String(32), primary_key=True),
        sa.Column("subject_id", sa.String(32), primary_key=True),
        sa.ForeignKeyConstraint(
            ["tenant_id", "session_id"],
            ["support_sessions.tenant_id", "support_sessions.session_id"],
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "subject_id"],
            ["subjects.tenant_id", "subjects.subject_id"],
            ondelete="CASCADE",
        ),
    )


def downgrade() -> None:
    op.drop_table("support_session_subjects")
    with op.batch_alter_table("support_sessions") as batch:
        batch.drop_column("approved_by")
