"""The vault's tables: the core (``core``) and one module per capability, imported explicitly here so
that ``metadata`` is always complete wherever a table is used (migrations compare against it)."""

from callvault.store.schema import (
    consent,
    core,
    follow,
    requests,
    restrictions,
    retention,
    statistics,
    support,
    tokens,
    voicemail_keys,
    web,
)
from callvault.store.schema.core import metadata

__all__ = [
    "consent",
    "core",
    "follow",
    "metadata",
    "requests",
    "restrictions",
    "retention",
    "statistics",
    "support",
    "tokens",
    "voicemail_keys",
    "web",
]
