"""The privacy centre's sign-in codes and the web sessions, in the database (issue 15).

Revision ID: 0010_web_sessions
Revises: 0009_requests

``web_sessions``, ``sign_in_codes`` and ``sign_in_attempts``: keyed hashes only (never a code, a
session id or a client address), so codes and sessions survive a restart and are shared by every
serving process.
"""

import sqlalchemy as sa
from alembic import op

revision = "0010_web_sessions"
down_revision = "0009_requests"
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
        "web_sessions",
        sa.Column("tenant_id", sa.String(64), primary_key=True),
        sa.Column("session_hash", sa.String(64), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("subject_id", sa.String(32)),
        sa.Column("sealed", sa.LargeBinary),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("expires_at", sa.DateTime, nullable=False),
        _subject_fk(),
    )
    op.create_index("ix_web_sessions_hash", "web_sessions", ["session_hash"])
    op.create_table(
        "sign_in_codes",
        sa.Column("tenant_id", sa.String(64), primary_key=True),
        sa.Column("code_id", sa.String(32), primary_key=True),
        sa.Column("slot", sa.String(64), nullable=False),
        sa.Column("client", sa.String(64)),
        sa.Column("subject_id", sa.String(32)),
        sa.Column("code_hash", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("expires_at", sa.DateTime, nullable=False),
        sa.Column("attempts_left", sa.Integer, nullable=False),
        sa.Column("used_at", sa.DateTime),
        _subject_fk(),
    )
    op.create_index("ix_sign_in_codes_slot", "sign_in_codes", ["tenant_id", "slot", "created_at"])
    op.create_index(
        "ix_sign_in_codes_client", "sign_in_codes", ["tenant_id", "client", "created_at"]
    )
    op.create_table(
        "sign_in_attempts",
        sa.Column("tenant_id", sa.String(64), primary_key=True),
        sa.Column("attempt_id", sa.String(32), primary_key=True),
        sa.Column("client", sa.String(64), nullable=False),
        sa.Column("at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_sign_in_attempts_client", "sign_in_attempts", ["tenant_id", "client", "at"])


def downgrade() -> None:
    op.drop_index("ix_sign_in_attempts_client", "sign_in_attempts")
    op.drop_table("sign_in_attempts")
    op.drop_index("ix_sign_in_codes_client", "sign_in_codes")
    op.drop_index("ix_sign_in_codes_slot", "sign_in_codes")
    op.drop_table("sign_in_codes")
    op.drop_index("ix_web_sessions_hash", "web_sessions")
    op.drop_table("web_sessions")
