"""Pseudonymous tokens (GDPR Art. 4(5)): a keyed HMAC of a value, shown in its place.

Equal values give equal tokens under one key, so a reader can follow one party through the records;
without the key the value cannot be recomputed, and under another key (another support session,
another tenant) the same value gives an unlinkable token.
"""

from __future__ import annotations

import hmac

TOKEN_HEX = 16


def token(key: bytes, kind: str, value: str) -> str:
    """``<kind>-<hex>``: the HMAC-SHA256 of ``kind:value`` under ``key``, truncated."""
    digest = hmac.digest(key, f"{kind}:{value}".encode(), "sha256").hex()
    return f"{kind}-{digest[:TOKEN_HEX]}"
