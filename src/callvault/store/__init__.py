"""Storage: the schema, the database connection and its migrations."""

from .database import connect, migrate, sqlalchemy_url

__all__ = ["connect", "migrate", "sqlalchemy_url"]
