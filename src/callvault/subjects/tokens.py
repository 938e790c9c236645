"""Bearer tokens: how the API authenticates an actor (DESIGN: "an actor is authenticated by its
adapter"). The actor recorded in the audit log comes from the token, never from a request body.

A token is ``cv_`` + 32 random bytes (URL-safe base64), printed once; the vault keeps only its
SHA-256 (a high-entropy secret needs no slow hash), so a copy of the database cannot be replayed
(Art. 32(1)(b)). Each token is bound to one tenant and one role:

=================  ==============================  ====================================================
role               actor in the audit log          may
=================  ==============================  ====================================================
operator_admin     ``operator:<name>``             the processor's administration (any tenant, no reads)
tenant_admin       ``tenant-admin:<name>``         its tenant: instructions, approvals, relays
support_engineer   ``support:<name>``              reads in the support sessions opened for it
service            ``service:<name>``              reads for the purposes it was given, only those
subject            ``subject:<id>``                itself only
=================  ==============================  ====================================================
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import and_, insert, select, update

from callvault.clock import utcnow
from callvault.errors import InvalidInput, NotFound, PolicyRefusal, Unauthenticated, UsageError
from callvault.store.audit_chain import OPERATOR, AuditEntry
from callvault.store.schema.tokens import api_tokens
from callvault.subjects.actors import check_actor
from callvault.subjects.directory import find_subject, new_id, no_subject
from callvault.tenants import get_tenant, no_tenant
from callvault.vault import Vault

__all__ = [
    "ROLES",
    "Principal",
    "authenticate",
    "create_token",
    "refuse_role",
    "refuse_sign_in",
    "refuse_unknown",
    "revoke_token",
]

ROLES = ("operator_admin", "tenant_admin", "support_engineer", "service", "subject")
_ACTOR_PREFIX = {
    "operator_admin": "operator",
    "tenant_admin": "tenant-admin",
    "support_engineer": "support",
    "service": "service",
    "subject": "subject",
}
_PREFIX = "cv_"


@dataclass(frozen=True)
class Principal:
    """Who a token authenticates: its tenant, role, name, purposes and (for a subject) subject."""

    token_id: str
    tenant_id: str
    role: str
    name: str
    purposes: tuple[str, ...] = ()
    subject_id: str | None = None

    @property
    def actor(self) -> str:
        return f"{_ACTOR_PREFIX[self.role]}:{self.name}"

    def require_tenant(self, tenant_id: str) -> None:
        """NotFound, exactly as for an unknown tenant, unless the token is of ``tenant_id``
        (the operator's administrators reach every tenant)."""
        if self.role != "operator_admin" and tenant_id != self.tenant_id:
            raise no_tenant(tenant_id)

    def require_subject(self, tenant_id: str, subject_id: str) -> None:
        """A subject token reaches only its own subject: any other is "no such subject"."""
        if self.role == "subject" and subject_id != self.subject_id:
            raise no_subject(tenant_id)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _check_role(vault: Vault, role: str, purposes: list[str], subject: str | None) -> None:
    if role not in ROLES:
        raise InvalidInput(f"role must be one of {', '.join(ROLES)}", pointer="role")
    if role == "service" and not purposes:
        raise UsageError("a service token needs --purpose (one or more)")
    if role != "service" and purposes:
        raise UsageError("only a service token is limited to purposes")
    if (role == "subject") != (subject is not None):
        raise UsageError("a subject token, and only a subject token, needs --subject")
    unknown = [p for p in purposes if p not in vault.policy.policy.purposes]
    if unknown:
        raise InvalidInput("unknown purpose", pointer="purpose")


def create_token(
    vault: Vault,
    tenant_id: str | None,
    role: str,
    *,
    name: str | None = None,
    purposes: list[str] | None = None,
    subject: str | None = None,
    actor: str = "operator",
) -> tuple[str, Principal]:
    """Make a token; returns it (shown once, never stored) and what it authenticates."""
    wanted = list(dict.fromkeys(purposes or []))
    _check_role(vault, role, wanted, subject)
    token = _PREFIX + secrets.token_urlsafe(32)
    with vault.transaction() as conn:
        if role == "operator_admin":
            if tenant_id:
                raise UsageError("an operator_admin token belongs to no tenant: omit --tenant")
            owner = OPERATOR
        else:
            if not tenant_id:
                raise UsageError(f"a {role} token needs --tenant")
            owner = get_tenant(conn, tenant_id).id
        subject_id = find_subject(vault, conn, owner, subject) if subject else None
        principal = Principal(new_id(), owner, role, subject_id or name or role, tuple(wanted),
                              subject_id)  # fmt: skip
        check_actor(principal.actor)
        conn.execute(
            insert(api_tokens),
            [{"tenant_id": owner, "token_id": principal.token_id, "token_hash": _digest(token),
              "role": role, "name": principal.name, "purposes": " ".join(wanted),
              "subject_id": subject_id, "created_at": utcnow()}],
        )  # fmt: skip
        vault.audit(conn, owner, AuditEntry(
            actor=actor, action="token.create", subject_id=subject_id,
            details={"token_id": principal.token_id, "role": role, "for": principal.actor,
                     "purposes": wanted},
        ))  # fmt: skip
    return token, principal


def revoke_token(vault: Vault, token_id: str, *, actor: str = "operator") -> Principal:
    """Revoke a token by its id (printed at creation); effective at its next request."""
    with vault.transaction() as conn:
        row = conn.execute(select(api_tokens).where(api_tokens.c.token_id == token_id)).first()
        if row is None:
            raise NotFound("no such token")
        principal = _principal(row)
        conn.execute(
            update(api_tokens)
            .where(api_tokens.c.tenant_id == row.tenant_id, api_tokens.c.token_id == token_id)
            .values(revoked_at=utcnow())
        )
        vault.audit(conn, row.tenant_id, AuditEntry(
            actor=actor, action="token.revoke", subject_id=row.subject_id,
            details={"token_id": token_id, "for": principal.actor},
        ))  # fmt: skip
    return principal


def authenticate(vault: Vault, token: str | None) -> Principal:
    """The principal of a live token; Unauthenticated (401) for none, unknown or revoked."""
    if not token or not token.startswith(_PREFIX):
        raise Unauthenticated("a bearer token is required")
    with vault.engine.connect() as conn:
        row = conn.execute(
            select(api_tokens).where(
                and_(api_tokens.c.token_hash == _digest(token), api_tokens.c.revoked_at.is_(None))
            )
        ).first()
    if row is None:
        raise Unauthenticated("the bearer token is unknown or revoked")
    return _principal(row)


def _principal(row: object) -> Principal:
    purposes = tuple(getattr(row, "purposes", "").split())
    return Principal(
        row.token_id,  # type: ignore[attr-defined]
        row.tenant_id,  # type: ignore[attr-defined]
        row.role,  # type: ignore[attr-defined]
        row.name,  # type: ignore[attr-defined]
        purposes,
        row.subject_id,  # type: ignore[attr-defined]
    )


def refuse_role(vault: Vault, principal: Principal, action: str, reason: str) -> PolicyRefusal:
    """Audit that ``principal`` was refused ``action`` for its role (refusals are audited too,
    Art. 5(2)) and return the PolicyRefusal (403) for the adapter to raise."""
    with vault.transaction() as conn:
        vault.audit(conn, principal.tenant_id, AuditEntry(
            actor=principal.actor, action=action, outcome="denied", reason=reason,
            details={"token_id": principal.token_id, "role": principal.role},
        ))  # fmt: skip
    return PolicyRefusal(reason)


def refuse_unknown(vault: Vault, principal: Principal, route: str) -> None:
    """Audit, in the token's own tenant, that ``principal`` asked ``route`` (a route template such
    as ``GET /api/v1/tenants/{tenant}``) for something it may not know of: another tenant's,
    another subject's, or nothing at all. The answer is the same 404 for each, so the entry says no
    more (Art. 5(2), 32); it names the route, never a value that was asked for."""
    with vault.transaction() as conn:
        vault.audit(conn, principal.tenant_id, AuditEntry(
            actor=principal.actor, action="not_found", outcome="not_found",
            reason="nothing this token may know of",
            details={"token_id": principal.token_id, "role": principal.role, "route": route},
        ))  # fmt: skip


def refuse_sign_in(vault: Vault, method: str) -> None:
    """Audit a refused sign-in (an unknown or revoked token, a request the SSO proxy did not vouch
    for) in the operator's chain: who tried is unknown, so no tenant's chain is theirs to write.
    The entry names the method only, never the token or a header's value (Art. 5(2), 32)."""
    with vault.transaction() as conn:
        vault.audit(conn, OPERATOR, AuditEntry(
            actor="anonymous", action="web.admin.sign_in", outcome="deny",
            reason="not authenticated", details={"method": method},
        ))  # fmt: skip
