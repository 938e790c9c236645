"""The HTTP API adapter: parse, authenticate, call the public API, render; errors mapped once.

Uses only ``from callvault import ...`` (import-linter checks it). :func:`create_app` builds the
ASGI app; ``callvault serve`` runs it with uvicorn.
"""

from callvault.api.app import create_app

__all__ = ["create_app"]
