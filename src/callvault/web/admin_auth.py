"""How a tenant admin signs in to the console: pluggable, least privilege.

Two authenticators implement :class:`Authenticator`:

- :class:`TokenSignIn` (always on): the admin pastes a ``tenant_admin`` token once; the session keeps
  it and every page re-authenticates it, so revoking the token ends the session.
- :class:`TrustedHeaderSignIn` (off unless configured): an SSO reverse proxy (oauth2-proxy, an OIDC
  module of nginx/Apache/Traefik, ...) authenticates the person and forwards the user's name and
  tenant in request headers, together with a shared secret that proves the request passed through
  the proxy (a client that reaches the server directly cannot forge it). Enabled by setting all
  three of ``CALLVAULT_ADMIN_SSO_USER_HEADER``, ``CALLVAULT_ADMIN_SSO_TENANT_HEADER`` and
  ``CALLVAULT_ADMIN_SSO_SECRET`` (the proxy sends it as ``X-Callvault-Proxy-Secret``). The headers
  are read again on every page: a proxy that stops vouching ends the session. The user name becomes
  the actor ``tenant-admin:<name>`` in the audit log, so it must be a role name, not an e-mail
  address (Art. 5(1)(c); configure the proxy to pass ``preferred_username``).

The proxy decides who is a tenant's admin (a group claim mapped to the tenant header): callvault
trusts it exactly as far as the shared secret reaches.
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from callvault import (
    CallvaultError,
    ConfigError,
    Principal,
    Unauthenticated,
    Vault,
    authenticate,
    check_actor,
    describe_tenant,
    refuse_role,
)

USER_HEADER_ENV = "CALLVAULT_ADMIN_SSO_USER_HEADER"
TENANT_HEADER_ENV = "CALLVAULT_ADMIN_SSO_TENANT_HEADER"
SECRET_ENV = "CALLVAULT_ADMIN_SSO_SECRET"
SECRET_HEADER = "x-callvault-proxy-secret"
MIN_SECRET = 32  # characters: a guessable secret would let anyone past the proxy sign in


class Authenticator(Protocol):
    """A way to sign in: ``kind`` names the session kind it makes; ``sign_in`` checks the sign-in
    form and headers, ``recheck`` the same session on every later page. Both raise a
    CallvaultError (Unauthenticated, PolicyRefusal) when the person is not a tenant admin."""

    @property
    def kind(self) -> str: ...

    def sign_in(self, vault: Vault, headers: Mapping[str, str],
                fields: Mapping[str, str]) -> tuple[Principal, str | None]: ...  # fmt: skip

    def recheck(self, vault: Vault, headers: Mapping[str, str], tenant_id: str,
                token: str | None) -> Principal: ...  # fmt: skip


def _admin_of(vault: Vault, who: Principal, tenant_id: str | None = None) -> Principal:
    if who.role != "tenant_admin":
        raise refuse_role(vault, who, "web.admin.sign_in", f"role {who.role} may not sign in")
    if tenant_id is not None and who.tenant_id != tenant_id:
        raise Unauthenticated("the session belongs to another tenant")
    return who


@dataclass(frozen=True)
class TokenSignIn:
    """A pasted ``tenant_admin`` bearer token (any other role is refused and audited)."""

    kind: str = "admin"

    def sign_in(self, vault: Vault, headers: Mapping[str, str],
                fields: Mapping[str, str]) -> tuple[Principal, str | None]:  # fmt: skip
        token = fields.get("token", "").strip()
        return _admin_of(vault, authenticate(vault, token)), token

    def recheck(self, vault: Vault, headers: Mapping[str, str], tenant_id: str,
                token: str | None) -> Principal:  # fmt: skip
        return _admin_of(vault, authenticate(vault, token), tenant_id)


@dataclass(frozen=True)
class TrustedHeaderSignIn:
    """The person an SSO reverse proxy vouches for (see the module's docstring)."""

    user_header: str
    tenant_header: str
    secret: str
    kind: str = "admin_sso"

    def _principal(self, vault: Vault, headers: Mapping[str, str],
                   known: str | None = None) -> Principal:  # fmt: skip
        given = headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode(), self.secret.encode()):
            raise Unauthenticated("the request did not pass the configured SSO proxy")
        user = headers.get(self.user_header, "").strip()
        tenant = headers.get(self.tenant_header, "").strip()
        if not user or not tenant:
            raise Unauthenticated("the SSO proxy named no user or no tenant")
        if known is not None and tenant != known:
            raise Unauthenticated("the session belongs to another tenant")
        try:
            actor = check_actor(f"tenant-admin:{user}")
            if known is None:
                describe_tenant(vault, tenant)  # NotFound for a tenant this vault does not hold
        except CallvaultError as exc:
            raise Unauthenticated("the SSO proxy's user or tenant is not usable") from exc
        return Principal("sso", tenant, "tenant_admin", actor.partition(":")[2])

    def sign_in(self, vault: Vault, headers: Mapping[str, str],
                fields: Mapping[str, str]) -> tuple[Principal, str | None]:  # fmt: skip
        return self._principal(vault, headers), None

    def recheck(self, vault: Vault, headers: Mapping[str, str], tenant_id: str,
                token: str | None) -> Principal:  # fmt: skip
        return self._principal(vault, headers, tenant_id)


def configured_sso(environ: Mapping[str, str] | None = None) -> TrustedHeaderSignIn | None:
    """The trusted-header sign-in when the operator configured it, else None (least privilege).
    A half or weak configuration is a ConfigError, never a silently open door."""
    env = os.environ if environ is None else environ
    values = [env.get(USER_HEADER_ENV, ""), env.get(TENANT_HEADER_ENV, ""), env.get(SECRET_ENV, "")]
    if not any(values):
        return None
    user, tenant, secret = (v.strip() for v in values)
    if not user or not tenant or not secret:
        raise ConfigError(f"SSO sign-in needs all of {USER_HEADER_ENV}, {TENANT_HEADER_ENV} and "
                          f"{SECRET_ENV}")  # fmt: skip
    if len(secret) < MIN_SECRET:
        raise ConfigError(f"{SECRET_ENV} must be at least {MIN_SECRET} characters")
    return TrustedHeaderSignIn(user.lower(), tenant.lower(), secret)


def authenticators(environ: Mapping[str, str] | None = None) -> dict[str, Authenticator]:
    """The sign-ins in force, by the session kind they make."""
    found: dict[str, Authenticator] = {"admin": TokenSignIn()}
    sso = configured_sso(environ)
    if sso is not None:
        found[sso.kind] = sso
    return found
