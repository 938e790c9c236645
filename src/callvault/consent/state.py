"""Consent state: does a subject hold valid consent for a purpose at a moment? (Art. 6(1)(a), Art. 7)

The processing gate asks this for every decision under a consent purpose; it is one indexed SELECT of
the newest record made at or before the moment, judged against withdrawal, expiry and the purpose's
fingerprint (a changed purpose needs consent again, Art. 7(1), Art. 13(3)).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, select

from callvault.policy import CompiledPurpose
from callvault.store.prepared import Prepared
from callvault.store.schema.consent import consent_records
from callvault.store.schema.core import UTCDateTime


@dataclass(frozen=True)
class ConsentState:
    valid: bool
    reason: str
    record_id: str | None


def _day(moment: datetime) -> str:
    return moment.date().isoformat()


# What a decision reads of the newest record (judge() takes a row with these names).
STATE_COLUMNS = (
    consent_records.c.record_id,
    consent_records.c.state,
    consent_records.c.state_at,
    consent_records.c.expires_at,
    consent_records.c.purpose_fingerprint,
    consent_records.c.created_at,
)
# Built once: the gate asks this per decision, so only parameters change.
_STATE_QUERY = (
    select(*STATE_COLUMNS)
    .where(
        consent_records.c.tenant_id == bindparam("tenant_id"),
        consent_records.c.subject_id == bindparam("subject_id"),
        consent_records.c.purpose == bindparam("purpose"),
        consent_records.c.created_at <= bindparam("at", type_=UTCDateTime()),
    )
    .order_by(consent_records.c.created_at.desc())
    .limit(1)
)
_STATE = Prepared(_STATE_QUERY)  # run on the driver's cursor: the gate asks it per decision


def consent_state(
    conn: Connection,
    tenant_id: str,
    subject_id: str,
    purpose: CompiledPurpose,
    policy_version: str,
    at: datetime,
) -> ConsentState:
    """Does ``subject_id`` hold valid consent for ``purpose`` at ``at``? One indexed SELECT.

    Only the newest record made at or before ``at`` counts: a later withdrawal or refusal overrides an
    earlier consent, and a later consent overrides an earlier withdrawal.
    """
    params = {"tenant_id": tenant_id, "subject_id": subject_id, "purpose": purpose.name, "at": at}
    return judge(_STATE.first(conn, params), purpose, policy_version, at)


def judge(
    row: Any | None, purpose: CompiledPurpose, policy_version: str, at: datetime
) -> ConsentState:
    """The state at ``at`` given the newest record made at or before it (``row``, with the names of
    :data:`STATE_COLUMNS`; None: there is none)."""
    if row is None:
        return ConsentState(False, f"no consent for {purpose.name}", None)
    if row.state in ("withdrawn", "refused") and row.state_at <= at:
        return ConsentState(False, f"consent {row.state} on {_day(row.state_at)}", row.record_id)
    if row.state == "expired" or (row.expires_at is not None and row.expires_at <= at):
        ended = row.expires_at or row.state_at
        return ConsentState(False, f"consent expired on {_day(ended)}", row.record_id)
    if row.purpose_fingerprint != purpose.fingerprint:
        # Art. 7(1)/13(3): the purpose changed since the subject agreed to it.
        return ConsentState(
            False, f"consent predates policy version {policy_version}", row.record_id
        )
    return ConsentState(True, f"consent given on {_day(row.created_at)}", row.record_id)
