"""The key store: tenant keys move out of the data database; the vault gets an id that binds it to
its key store.

Revision ID: 0002_keystore
Revises: 0001

Tenant keys now live in the key store (``CALLVAULT_KEYSTORE``, crypto/keystore.py). Nothing has been
released, so existing development vaults are not migrated: their ``tenant_keys`` rows are dropped.
"""

import sqlalchemy as sa
from alembic import op

revision = "0002_keystore"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "vault_meta",
        sa.Column("tenant_id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )
    op.drop_table("tenant_keys")


def downgrade() -> None:
    op.create_table(
        "tenant_keys",
        sa.Column("tenant_id", sa.String(64), primary_key=True),
        sa.Column("purpose", sa.String(32), primary_key=True),
        sa.Column("wrapped_key", sa.LargeBinary, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.tenant_id"]),
    )
    op.drop_table("vault_meta")
