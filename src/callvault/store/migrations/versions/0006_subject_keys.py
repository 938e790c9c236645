"""Subjects' data keys move to the key store; a queue of keys (subjects', voicemail messages') to
destroy after the deletion that ends them commits.

Revision ID: 0006_subject_keys
Revises: 0005_number_since

``callvault init`` copies every ``subjects.wrapped_dek`` into the key store (same wrapping, same
associated data) before this revision drops the column, so an upgrade loses no key; run again after
a kill, it copies what is missing and goes on.
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_subject_keys"
down_revision = "0005_number_since"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "shred_queue",
        sa.Column("tenant_id", sa.String(64), primary_key=True),
        sa.Column("kind", sa.String(16), primary_key=True),
        sa.Column("key_id", sa.String(32), primary_key=True),
        sa.Column("queued_at", sa.DateTime, nullable=False),
    )
    with op.batch_alter_table("subjects") as batch:
        batch.drop_column("wrapped_dek")
    # Support sessions' keys live in the key store too (destroyed there when a session closes).
    with op.batch_alter_table("support_sessions") as batch:
        batch.drop_column("wrapped_key")


def downgrade() -> None:
    with op.batch_alter_table("support_sessions") as batch:
        batch.add_column(sa.Column("wrapped_key", sa.LargeBinary, nullable=True))
    with op.batch_alter_table("subjects") as batch:
        batch.add_column(sa.Column("wrapped_dek", sa.LargeBinary, nullable=True))
    op.drop_table("shred_queue")
