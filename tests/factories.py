"""Test data built through the library (never by hand-written SQL for identifiers)."""

from __future__ import annotations

import os
from datetime import UTC, datetime

from sqlalchemy import insert

from callvault.clock import parse_instant
from callvault.store.schema.core import calls
from callvault.subjects.directory import create_subject, new_id
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
    country: str | None = None,
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
        country=country,
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


def make_users(vault: Vault, n: int, tenant_id: str = "acme") -> list[str]:
    """``n`` users with distinct identifiers: a statistics cell counts the tenant's users, so a
    cell that must be shown needs k of them."""
    return [
        make_user(vault, tenant_id, name=f"User {i}", email=f"user{i}@acme.dk",
                  phone=f"+452290{i:04d}", extension=f"5{i:02d}")
        for i in range(n)
    ]  # fmt: skip


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
    started_at: datetime | str | None = None,  # default: a day ago, within every period
    duration_s: int = 60,
    billsec_s: int = 55,
    direction: str = "inbound",
    outcome: str = "answered",
) -> str:
    started_at = started_at or _recent()
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


def _recent() -> datetime:
    """A day ago, on the hour: reads serve nothing past its period (issue 12), so records made
    without a date must stay within every period whenever the tests run."""
    from datetime import timedelta

    return (_now() - timedelta(days=1)).replace(minute=0, second=0, microsecond=0)


def make_voicemail(
    vault: Vault,
    tenant_id: str = "acme",
    *,
    mailbox_id: str,
    caller_id: str | None,
    received_at: datetime | str | None = None,  # default: a day ago, within every period
    audio: bytes = b"RIFF....WAVEfmt voicemail",
) -> str:
    """A voicemail row with its audio encrypted under the mailbox owner's data key."""
    from callvault.crypto.keyring import field_aad
    from callvault.store.schema.core import voicemails
    from callvault.subjects.directory import subject_dek

    received_at = received_at or _recent()
    at = parse_instant(received_at, field="at") if isinstance(received_at, str) else received_at
    voicemail_id = new_id()
    with vault.transaction() as conn:
        dek = subject_dek(vault, conn, tenant_id, mailbox_id)
        sealed = vault.keyring.encrypt(dek, audio, field_aad(tenant_id, voicemail_id, "audio"))
        row = {
            "tenant_id": tenant_id,
            "voicemail_id": voicemail_id,
            "source_key": os.urandom(16),
            "mailbox_subject_id": mailbox_id,
            "caller_subject_id": caller_id,
            "received_at": at,
            "duration_s": 12,
            "folder": "INBOX",
            "audio_format": "wav",
            "audio": sealed,
            "created_at": _now(),
        }
        conn.execute(insert(voicemails), [row])
    return voicemail_id


def make_offboarded(vault: Vault, tenant_id: str, subject_id: str, at: datetime | str) -> None:
    """Mark a user as having left the tenant at ``at``."""
    from sqlalchemy import update

    from callvault.store.schema.core import subjects

    moment = parse_instant(at, field="at") if isinstance(at, str) else at
    with vault.transaction() as conn:
        conn.execute(
            update(subjects)
            .where(subjects.c.tenant_id == tenant_id, subjects.c.subject_id == subject_id)
            .values(offboarded_at=moment)
        )


def make_calls_bulk(
    vault: Vault,
    tenant_id: str,
    count: int,
    *,
    start: datetime | str,
    step_s: int = 60,
    parties: list[tuple[str | None, str | None]],
) -> None:
    """``count`` calls one ``step_s`` apart from ``start``, cycling through ``parties`` and through
    directions and outcomes; inserted in bulk."""
    from datetime import timedelta

    first = parse_instant(start, field="start") if isinstance(start, str) else start
    kinds = [("outbound", "answered"), ("inbound", "answered"), ("inbound", "no_answer")]
    rows = []
    for i in range(count):
        at = first + timedelta(seconds=i * step_s)
        caller, callee = parties[i % len(parties)]
        direction, outcome = kinds[i % len(kinds)]
        rows.append(
            {
                "tenant_id": tenant_id,
                "call_id": new_id(),
                "source_key": os.urandom(16),
                "linked_key": None,
                "started_at": at,
                "answered_at": at if outcome == "answered" else None,
                "ended_at": at,
                "duration_s": 30 + i % 200,
                "billsec_s": 20 + i % 150 if outcome == "answered" else 0,
                "direction": direction,
                "outcome": outcome,
                "caller_subject_id": caller,
                "callee_subject_id": callee,
                "created_at": _now(),
            }
        )
    for begin in range(0, count, 5000):
        with vault.transaction() as conn:
            conn.execute(insert(calls), rows[begin : begin + 5000])
