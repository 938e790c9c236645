"""A user's number or extension belongs to them from a date (issue 12: a recycled number).

Revision ID: 0005_number_since
Revises: 0004_support_scope

``subject_identifiers.since``: the instant from which a user holds a number or extension. Calls and
voicemail before it stay with the previous holder. NULL for identifiers held before this revision
(held for all time, as the code before it assumed) and for every other kind of identifier.
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_number_since"
down_revision = "0004_support_scope"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("subject_identifiers", sa.Column("since", sa.DateTime))


def downgrade() -> None:
    op.drop_column("subject_identifiers", "since")
