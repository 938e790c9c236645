"""tenants.country: the region a tenant's national numbers are read in (ISO 3166-1 alpha-2).

Revision ID: 0003_tenant_country
Revises: 0002_keystore

Tenants that exist already keep NULL, read as the operator's country (what every number was read
as before this revision), so no stored blind index changes meaning.
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_tenant_country"
down_revision = "0002_keystore"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tenants") as batch:
        batch.add_column(sa.Column("country", sa.String(2)))


def downgrade() -> None:
    with op.batch_alter_table("tenants") as batch:
        batch.drop_column("country")
