"""Alembic environment: callvault always hands in an open connection (``config.attributes``)."""

from alembic import context

from callvault.store.schema.core import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
