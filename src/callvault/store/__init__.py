"""Storage: the schema (``schema/``), the database connection and its migrations.

Importing this package imports every table module (``schema/__init__``), so ``metadata`` is complete.
"""

from callvault.store import schema
from callvault.store.database import connect, migrate, sqlalchemy_url

__all__ = ["connect", "migrate", "schema", "sqlalchemy_url"]
