"""Test data built through the library (never by hand-written SQL for identifiers)."""

from __future__ import annotations

import os
from datetime import UTC, datetime

from sqlalchemy import insert

from callvault.clock import parse_instant
from callvault.store.schema import calls
from callvault.subjects import create_subject, new_id
from callvault.tenants import Tenant, add_tenant, get_tenant
from callvault.vault import Vault

ALL = ["name", "email", "phone", "department", "call_history", "voicemail"]


def make_tenant(
    vault: Vault,
    tenant_id: str = "acme",
    *,
    collect: list[str] | None = None,
    agreement: tuple[str, str, str | None] | None = ("SSA-1", "2026-01-01", None),
    retention: dict[str, str] | None = None,
) -> Tenant:
    add_tenant(
        vault,
        tenant_id,
        name=f"{tenant_id.title()} ApS",
        collect=collect or ALL,
        agreement_id=agreement[0] if agreement else None,
        agreement_from=parse_instant(agreement[1], field="from") if agreement else None,
        agreement_to=parse_instant(agreement[2], field="to")
        if agreement and agreement[2]
        else None,
        retention=retention,
    )
    with vault.engine.connect() as conn:
        return get_tenant(conn, tenant_id)


def make_user(
    vault: Vault,
    tenant_id: str = "acme",
    *,
    name: str = "Alice Andersen",
    email: str = "alice@acme.dk",
    phone: str = "+4522334455",
    extension: str = "201",
) -> str:
    values = {"name": [name], "email": [email], "phone": [phone], "extension": [extension]}
    with vault.transaction() as conn:
        return create_subject(vault, conn, tenant_id, kind="user", values=values, now=_now())


def make_external(vault: Vault, tenant_id: str = "acme", *, phone: str = "+4540404040") -> str:
    with vault.transaction() as conn:
        return create_subject(
            vault, conn, tenant_id, kind="external", values={"phone": [phone]}, now=_now()
        )


def make_call(
    vault: Vault,
    tenant_id: str = "acme",
    *,
    caller_id: str | None,
    callee_id: str | None,
    started_at: datetime | str = "2026-11-01T10:00:00+00:00",
    duration_s: int = 60,
    billsec_s: int = 55,
    direction: str = "inbound",
    outcome: str = "answered",
) -> str:
    start = parse_instant(started_at, field="start") if isinstance(started_at, str) else started_at
    call_id = new_id()
    row = {
        "tenant_id": tenant_id,
        "call_id": call_id,
        "source_key": os.urandom(16),
        "linked_key": None,
        "started_at": start,
        "answered_at": start if outcome == "answered" else None,
        "ended_at": start,
        "duration_s": duration_s,
        "billsec_s": billsec_s,
        "direction": direction,
        "outcome": outcome,
        "caller_subject_id": caller_id,
        "callee_subject_id": callee_id,
        "created_at": _now(),
    }
    with vault.transaction() as conn:
        conn.execute(insert(calls), [row])
    return call_id


def _now() -> datetime:
    return datetime.now(UTC)
