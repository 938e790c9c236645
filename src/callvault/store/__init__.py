"""Storage: the schema, the database connection and its migrations.

Tables live in ``schema.py`` (the vault core) and in one ``schema_<noun>.py`` module per capability;
importing this package imports all of them, so ``schema.metadata`` is always complete.
"""

import importlib
import pkgutil

from .database import connect, migrate, sqlalchemy_url

for _module in pkgutil.iter_modules(__path__):
    if _module.name.startswith("schema_"):
        importlib.import_module(f"{__name__}.{_module.name}")

__all__ = ["connect", "migrate", "sqlalchemy_url"]
