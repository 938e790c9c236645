"""The web pages (privacy centre and admin console, issue 15): an adapter like the API, mounted on
the same app by :func:`mount`. Nothing is served here yet."""

from __future__ import annotations

from typing import Any

__all__ = ["mount"]


def mount(app: Any) -> None:
    """Add the web pages' routes to ``app`` (the API's FastAPI app). None yet."""
    return None
