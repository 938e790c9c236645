"""Tenants: the operator's customer companies, each a controller with its own collection profile.

A tenant's profile is its documented instruction to the processor (GDPR Art. 28(3)(a)): the categories
collected about its users (a subset of the policy's), its service and support agreement (the contract
that error diagnosis relies on, Art. 6(1)(b)) and retention overrides that may only shorten the policy's.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from operator import attrgetter
from typing import Any

from sqlalchemy import JSON, Connection, Label, Text, bindparam, cast, func, insert, select

from callvault.clock import utcnow
from callvault.errors import InvalidInput, NotFound
from callvault.policy.taxonomy import CATEGORY_ALIASES
from callvault.store.audit_chain import OPERATOR, AuditEntry
from callvault.store.prepared import Prepared
from callvault.store.schema.core import calls, subjects, tenants, voicemails
from callvault.store.schema.statistics import call_statistics
from callvault.subjects.actors import check_actor
from callvault.subjects.identifiers import check_region
from callvault.vault import Vault, catalogue

_TENANT_ID = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")


@dataclass(frozen=True)
class Agreement:
    id: str
    valid_from: datetime
    valid_to: datetime | None

    def in_force(self, at: datetime) -> bool:
        return self.valid_from <= at and (self.valid_to is None or at < self.valid_to)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "from": self.valid_from.isoformat(),
            "to": self.valid_to.isoformat() if self.valid_to else None,
        }


@dataclass(frozen=True)
class Tenant:
    id: str
    name: str
    collect: tuple[str, ...]
    agreement: Agreement | None
    retention: dict[str, str] = field(default_factory=dict)
    created_at: datetime | None = None
    country: str | None = None  # ISO 3166-1 alpha-2; None: the operator's (see region())

    def collects(self, category: str) -> bool:
        return category in self.collect


def _check_id(tenant_id: str) -> str:
    if not _TENANT_ID.match(tenant_id):
        raise InvalidInput(
            f"tenant id {tenant_id!r} must be 1-64 of a-z, 0-9, '_', '.', '-' "
            "and start with a letter or digit",
            pointer="id",
        )
    return tenant_id


def _expand(categories: list[str]) -> list[str]:
    return [CATEGORY_ALIASES.get(c.strip(), c.strip()) for c in categories if c.strip()]


def _agreement(
    agreement_id: str | None, valid_from: datetime | None, valid_to: datetime | None
) -> Agreement | None:
    if agreement_id is None:
        if valid_from or valid_to:
            raise InvalidInput("--from/--to need --agreement", pointer="agreement")
        return None
    if valid_from is None:
        raise InvalidInput("an agreement needs its start date (--from)", pointer="agreement.from")
    if valid_to is not None and valid_to <= valid_from:
        raise InvalidInput("the agreement ends before it starts", pointer="agreement.to")
    return Agreement(agreement_id, valid_from, valid_to)


def add_tenant(
    vault: Vault,
    tenant_id: str,
    *,
    name: str,
    collect: list[str],
    agreement_id: str | None = None,
    agreement_from: datetime | None = None,
    agreement_to: datetime | None = None,
    retention: dict[str, str] | None = None,
    country: str | None = None,
    actor: str = "operator",
) -> Tenant:
    """Register a tenant with its collection profile; refuses anything the policy does not allow.

    ``country`` (ISO 3166-1 alpha-2, default the operator's) is where the tenant's national numbers
    are dialled: ``089...`` is a Russian mobile for an RU tenant and nothing for a DK one.
    """
    _check_id(tenant_id)
    check_actor(actor)
    try:
        region = check_region(country or vault.policy.policy.operator.country)
    except InvalidInput as exc:
        raise InvalidInput(exc.reason, pointer="country") from None
    if not name.strip():
        raise InvalidInput("a tenant needs a name", pointer="name")
    chosen = vault.policy.check_collect(_expand(collect))
    if not chosen:
        raise InvalidInput("a collection profile names at least one category", pointer="collect")
    overrides = {
        kind: str(vault.policy.check_retention_override(kind, period))
        for kind, period in (retention or {}).items()
    }
    agreement = _agreement(agreement_id, agreement_from, agreement_to)
    now = utcnow()
    with vault.transaction() as conn:
        if conn.scalar(select(tenants.c.tenant_id).where(tenants.c.tenant_id == tenant_id)):
            raise InvalidInput(f"tenant {tenant_id} already exists", pointer="id")
        conn.execute(
            insert(tenants),
            [
                {
                    "tenant_id": tenant_id,
                    "name": name,
                    "collect": chosen,
                    "agreement_id": agreement.id if agreement else None,
                    "agreement_from": agreement.valid_from if agreement else None,
                    "agreement_to": agreement.valid_to if agreement else None,
                    "retention": overrides,
                    "created_at": now,
                    "country": region,
                }
            ],
        )
        vault.audit(
            conn,
            tenant_id,
            AuditEntry(
                actor=actor,
                action="tenant.add",
                categories=chosen,
                details={
                    "retention": overrides,
                    "agreement": agreement_id is not None,
                    "country": region,
                },
            ),
        )
        # The operator's chain names every tenant, so deleting a tenant whole (its row, its chain
        # and its head) is still caught by audit verify.
        entry = AuditEntry(actor=actor, action="tenant.add", details={"tenant": tenant_id})
        vault.audit(conn, OPERATOR, entry)
    return Tenant(tenant_id, name, tuple(chosen), agreement, overrides, now, region)


def no_tenant(tenant_id: str) -> NotFound:
    """The one answer for a tenant that does not exist *or is not the asker's*: an adapter gives a
    token of another tenant exactly this, so it learns nothing about that tenant."""
    return NotFound(f"no tenant {tenant_id!r}")


# Asked by most requests: compiled once, run on the driver's cursor.
_TENANT = Prepared(select(tenants).where(tenants.c.tenant_id == bindparam("t")))


def get_tenant(conn: Connection, tenant_id: str) -> Tenant:
    row = _TENANT.first(conn, {"t": tenant_id})
    if row is None:
        raise no_tenant(tenant_id)
    return tenant_from(row)


_FIELDS = ("tenant_id", "name", "collect", "agreement_id", "agreement_from", "agreement_to",
           "retention", "created_at", "country")  # fmt: skip
_PICK: dict[str, Callable[[Any], tuple[Any, ...]]] = {}


def _picked(row: Any, prefix: str) -> tuple[Any, ...]:
    """The ``tenants`` fields of ``row``, its columns named ``prefix`` + their names."""
    pick = _PICK.get(prefix)
    if pick is None:
        pick = _PICK[prefix] = attrgetter(*(prefix + name for name in _FIELDS))
    return pick(row)


def _tenant(fields: tuple[Any, ...], decode: Callable[[Any], Any]) -> Tenant:
    """The :class:`Tenant` of :func:`_picked` fields, its JSON columns read by ``decode``."""
    tenant_id, name, collect, agreement_id, valid_from, valid_to, retention, created_at, country = (
        fields
    )
    agreement = Agreement(agreement_id, valid_from, valid_to) if agreement_id else None
    return Tenant(
        tenant_id, name, tuple(decode(collect)), agreement, dict(decode(retention)), created_at,
        country,
    )  # fmt: skip


def _as_read(value: Any) -> Any:
    return value


def tenant_from(row: Any, prefix: str = "") -> Tenant:
    """The tenant of a row holding the ``tenants`` columns, each named ``prefix`` + its name (a
    query that reads the tenant beside other tables labels them so)."""
    return _tenant(_picked(row, prefix), _as_read)


def tenant_columns(prefix: str) -> list[Label[Any]]:
    """The ``tenants`` columns, each labelled ``prefix`` + its name, the JSON ones as the text they
    are stored as: for a query that reads the tenant beside other tables, see :func:`read_tenant`."""
    return [
        (cast(c, Text) if isinstance(c.type, JSON) else c).label(prefix + c.name)
        for c in tenants.columns
    ]


_READ: dict[tuple[Any, ...], Tenant] = {}  # by the profile as read, JSON as text


def read_tenant(row: Any, prefix: str) -> Tenant:
    """The tenant of a row read with :func:`tenant_columns`. The row is read from the database each
    time; only turning it into a :class:`Tenant` (two JSON texts) is done once per profile as
    read: a frequent act (a consent) of a tenant whose profile has not changed finds it made."""
    read = _picked(row, prefix)
    tenant = _READ.get(read)
    if tenant is None:
        if len(_READ) >= 1024:  # bounded: tenants and their profile changes are few
            _READ.clear()
        tenant = _READ[read] = _tenant(read, json.loads)
    return tenant


def region(vault: Vault, tenant: Tenant) -> str:
    """The region the tenant's national numbers are read in: its country, else the operator's."""
    return tenant.country or vault.policy.policy.operator.country


def tenant_profile(url: str | None, tenant_id: str) -> Tenant:
    """A tenant's profile without the master key (it holds no personal data): for the notice."""
    with catalogue(url) as conn:
        return get_tenant(conn, tenant_id)


def list_tenants(conn: Connection) -> list[Tenant]:
    ids = conn.scalars(select(tenants.c.tenant_id).order_by(tenants.c.tenant_id)).all()
    return [get_tenant(conn, tenant_id) for tenant_id in ids]


# Kinds of records held, counted for `tenant show` and the Art. 30 records; other modules add theirs.
COUNTED_TABLES = {
    "subjects": subjects,
    "calls": calls,
    "voicemails": voicemails,
    "statistics": call_statistics,
}


def tenant_counts(conn: Connection, tenant_id: str) -> dict[str, int]:
    return {
        name: conn.scalar(
            select(func.count()).select_from(table).where(table.c.tenant_id == tenant_id)
        )
        or 0
        for name, table in COUNTED_TABLES.items()
    }


def effective_retention(vault: Vault, tenant: Tenant) -> dict[str, str]:
    """Per kind of record: the tenant's shorter period where it set one, else the policy's."""
    result = {}
    for kind, rule in vault.policy.retention.items():
        result[kind] = tenant.retention.get(kind) or str(rule.period)
    return result


def describe_tenant(vault: Vault, tenant_id: str) -> dict[str, Any]:
    """What `tenant show` prints: profile, agreement, retention and the records held."""
    with vault.engine.connect() as conn:
        tenant = get_tenant(conn, tenant_id)
        counts = tenant_counts(conn, tenant_id)
    return {
        "id": tenant.id,
        "name": tenant.name,
        "collect": list(tenant.collect),
        "country": region(vault, tenant),
        "agreement": tenant.agreement.as_dict() if tenant.agreement else None,
        "retention": effective_retention(vault, tenant),
        "retention_overrides": tenant.retention,
        "counts": counts,
        "created_at": tenant.created_at.isoformat() if tenant.created_at else None,
    }
