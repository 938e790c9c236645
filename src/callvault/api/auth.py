"""Who asks: the bearer token authenticates the actor; every route states the roles it admits.

The actor in the audit log is the token's (``Principal.actor``), never a value of the request. A
token of another tenant gets exactly the answer for an unknown tenant, and a subject token the
answer for an unknown subject for anyone but itself, so nothing is learnt about what exists there.
"""

from __future__ import annotations

from typing import Any

from fastapi import Depends, Path, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from callvault import Principal, Vault, authenticate, refuse_role

bearer = HTTPBearer(auto_error=False, description="A token made by `callvault token create`.")

TENANT = Path(pattern=r"^[a-z0-9][a-z0-9_.-]{0,63}$", max_length=64, description="Tenant id.")
# A subject's surrogate id only: an e-mail or a number never appears in a URL or an access log.
SUBJECT = Path(pattern=r"^[0-9a-f]{32}$", description="The subject's surrogate id.")


def surrogate() -> Any:
    """A path parameter holding a surrogate id (a fresh one per use: FastAPI names it)."""
    return Path(pattern=r"^[0-9a-f]{32}$", description="A surrogate id (32 hex digits).")


def vault_of(request: Request) -> Vault:
    vault: Vault = request.app.state.vault
    return vault


def principal(
    request: Request, credentials: HTTPAuthorizationCredentials | None = Security(bearer)
) -> Principal:
    who = authenticate(vault_of(request), credentials.credentials if credentials else None)
    request.state.principal = who  # for the audit of a 404 (problems.on_callvault)
    return who


def in_tenant(tenant: str = TENANT, who: Principal = Depends(principal)) -> Principal:
    """The principal, if it may act in ``tenant`` (else NotFound, as for an unknown tenant)."""
    who.require_tenant(tenant)
    return who


def allow(vault: Vault, who: Principal, action: str, *roles: str) -> None:
    """PolicyRefusal (403, audited) unless the token's role is one of ``roles``."""
    if who.role not in roles:
        raise refuse_role(vault, who, action, f"role {who.role} may not {action}")


def deny(vault: Vault, who: Principal, action: str, reason: str) -> None:
    """Refuse (403, audited) with ``reason``."""
    raise refuse_role(vault, who, action, reason)
