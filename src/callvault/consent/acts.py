"""Consent records shaped after ISO/IEC TS 27560: given only by an explicit act, withdrawable, kept.

GDPR Art. 4(11) and Art. 7: consent is a specific, informed and unambiguous indication by a clear
affirmative act; using a service is not one (EDPB Guidelines 05/2020, 3.4). So a record exists only
when :func:`give_consent` (the CLI, the API, the privacy centre) is called: nothing else in callvault
creates one. Withdrawal (Art. 7(3)) is one call and takes effect at the next decision, because
:func:`consent_state` reads the newest record each time; the event history stays.

A record is bound to the purpose's fingerprint (its text, categories and basis): when a new policy
version changes the purpose, consent given before no longer covers it (Art. 7(1), Art. 13(3)) and the
subject must be asked again.

Who acts: giving consent is the subject's own act (Art. 4(11), Art. 7): the actor is the subject,
``subject:<surrogate id>`` (the default, e.g. a click in the privacy centre); a tenant admin, the
operator or a service is refused. Withdrawing must be as easy as giving (Art. 7(3)): the subject, or
a tenant admin (``tenant-admin:<name>``) relaying the subject's objection to the controller, may
withdraw, and the record says who did. A refusal (the subject said no) follows the withdrawal rule.

The processing gate calls :func:`consent_state`; it is one indexed SELECT.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from typing import Any

from sqlalchemy import Connection, and_, bindparam, func, insert, literal_column, select, update

from callvault.accountability.notice import notice_hash
from callvault.clock import utcnow
from callvault.consent.records import (
    ConsentEvent,
    ConsentRecord,
    audit_show,
    consent_receipt,
    consent_record,
    load_record,
    records_of,
)
from callvault.consent.state import STATE_COLUMNS, ConsentState, consent_state, judge
from callvault.errors import InvalidInput, NotFound, PolicyRefusal
from callvault.policy import CompiledPurpose
from callvault.store.audit_chain import AuditEntry, WithRows
from callvault.store.prepared import Prepared
from callvault.store.schema.consent import consent_events, consent_records
from callvault.store.schema.core import UTCDateTime, subjects, tenants
from callvault.subjects.actors import check_actor
from callvault.subjects.directory import find_subject_kind, is_surrogate, new_id
from callvault.tenants import (
    Tenant,
    get_tenant,
    no_tenant,
    read_tenant,
    region,
    tenant_columns,
)
from callvault.vault import Vault

__all__ = [
    "ConsentEvent",
    "ConsentRecord",
    "ConsentState",
    "consent_receipt",
    "consent_record",
    "consent_state",
    "give_consent",
    "refuse_consent",
    "subject_consents",
    "withdraw_consent",
]

STATES = ("given", "withdrawn", "expired", "refused")
METHODS = ("cli", "api", "privacy_centre")
SUBJECT_ACTORS = ("subject", "user")
RELAY_ACTORS = ("tenant-admin",)  # may withdraw or record a refusal for the subject, never give
ONLY_SUBJECT = "consent can only be given by the data subject"


# -- acts ------------------------------------------------------------------------------------------


def _purpose(vault: Vault, name: str) -> CompiledPurpose:
    purpose = vault.policy.purposes.get(name)
    if purpose is None:
        raise InvalidInput(
            f"no purpose {name!r} in policy version {vault.policy.version} "
            f"(purposes: {', '.join(sorted(vault.policy.purposes))})",
            pointer="purpose",
        )
    if purpose.legal_basis != "consent":
        # Asking for consent where another basis applies misleads the subject (EDPB 05/2020, 121).
        raise PolicyRefusal(
            f"purpose {name} rests on {purpose.legal_basis}, not consent: "
            "consent is neither asked for nor recorded for it"
        )
    return purpose


def _subject(vault: Vault, conn: Connection, tenant_id: str, text: str) -> tuple[str, str, Tenant]:
    """The subject's id and kind, and its tenant (NotFound for either): two indexed SELECTs."""
    tenant = get_tenant(conn, tenant_id)
    subject_id, kind = find_subject_kind(vault, conn, tenant_id, text, region=region(vault, tenant))
    return subject_id, kind, tenant


def _context(state: bool) -> Prepared:
    """One query for what an act reads first: the tenant (its columns as ``t_<name>``), the subject
    named by its surrogate id (``s_subject_id``, ``s_kind``) and, with ``state``, the newest consent
    record for the purpose made at or before the act (:data:`STATE_COLUMNS`, what the state is
    judged on). Each table is joined on the tenant: no row is no tenant; NULLs, no subject or no
    record."""
    t, s, c = tenants.c, subjects.c, consent_records.c
    source = tenants.outerjoin(
        subjects, and_(s.tenant_id == t.tenant_id, s.subject_id == bindparam("id"))
    )
    columns = tenant_columns("t_")  # made into a Tenant by read_tenant
    query = select(*columns, s.subject_id.label("s_subject_id"), s.kind.label("s_kind"))
    if state:  # the newest record by the index, as consent_state finds it; then joined by key
        newest = (
            select(c.record_id)
            .where(
                c.tenant_id == bindparam("t"),
                c.subject_id == bindparam("id"),
                c.purpose == bindparam("purpose"),
                c.created_at <= bindparam("at", type_=UTCDateTime()),
            )
            .order_by(c.created_at.desc())
            .limit(1)
            .scalar_subquery()
        )
        source = source.outerjoin(
            consent_records, and_(c.tenant_id == t.tenant_id, c.record_id == newest)
        )
        query = query.add_columns(*STATE_COLUMNS)
    return Prepared(query.select_from(source).where(t.tenant_id == bindparam("t")))


_CONTEXT = _context(state=False)
_CONTEXT_AND_STATE = _context(state=True)


# PostgreSQL: the subject's row, locked against the other acts on the subject's consent (not
# against the foreign-key checks of rows naming the subject, which take KEY SHARE).
_LOCK = Prepared(
    select(subjects.c.subject_id)
    .where(subjects.c.tenant_id == bindparam("t"), subjects.c.subject_id == bindparam("id"))
    .with_for_update(key_share=True)
)


def _lock(conn: Connection, tenant_id: str, subject_id: str) -> None:
    """Serialise the consent acts on one subject, before the state they act on is read: two gives
    at once (a double click) must not both read "no consent" and both record one. SQLite's BEGIN
    IMMEDIATE already serialises every writer; on PostgreSQL (READ COMMITTED) the lock is taken
    in a statement of its own, so that the read after it sees what the act it waited for
    committed (a statement sees what committed before it began)."""
    if conn.dialect.name == "postgresql":
        _LOCK.first(conn, {"t": tenant_id, "id": subject_id})


def _read(
    vault: Vault,
    conn: Connection,
    tenant_id: str,
    text: str,
    purpose: CompiledPurpose | None,
    at: datetime,
    *,
    act: bool = False,
) -> tuple[str, str, Tenant, ConsentState | None]:
    """The subject's id and kind and its tenant (NotFound for either), and with ``purpose`` the
    subject's consent state for it at ``at``: one indexed SELECT for a subject named by its
    surrogate id (the privacy centre, the API), else one per question. For an ``act``, the
    subject is locked first (:func:`_lock`)."""
    key = text.strip()
    if is_surrogate(key):
        if act:
            _lock(conn, tenant_id, key)
        if purpose is None:
            row = _CONTEXT.first(conn, {"t": tenant_id, "id": key})
        else:
            asked = {"t": tenant_id, "id": key, "purpose": purpose.name, "at": at}
            row = _CONTEXT_AND_STATE.first(conn, asked)
        if row is None:
            raise no_tenant(tenant_id)
        if row.s_subject_id is not None:
            tenant = read_tenant(row, "t_")
            found = row if purpose is not None and row.record_id is not None else None
            state = None if purpose is None else judge(found, purpose, vault.policy.version, at)
            return str(row.s_subject_id), str(row.s_kind), tenant, state
    subject_id, kind, tenant = _subject(vault, conn, tenant_id, text)
    if act:
        _lock(conn, tenant_id, subject_id)
    if purpose is None:
        return subject_id, kind, tenant, None
    version = vault.policy.version
    return (
        subject_id,
        kind,
        tenant,
        consent_state(conn, tenant_id, subject_id, purpose, version, at),
    )


def _actor(subject_id: str, kind: str, actor: str | None, act: str) -> str:
    """Consent is personal (Art. 4(11)): nobody consents for another person.

    No actor: the subject itself. A subject acting for another subject is refused; anyone else may
    only withdraw or record a refusal, and only as a tenant admin. Returns the actor as audited
    (subject actors by surrogate id, never an e-mail).
    """
    if actor is None:
        return f"subject:{subject_id}"
    role, _, who = check_actor(actor).partition(":")
    if role in SUBJECT_ACTORS:
        if who != subject_id:
            raise PolicyRefusal(
                f"a subject cannot {act} consent on behalf of another subject (Art. 4(11), Art. 7)"
            )
        return f"subject:{subject_id}"
    if act == "give":
        caller = "an external caller's consent can only be given by the caller; "
        whose = caller if kind == "external" else ""
        raise PolicyRefusal(
            f"{ONLY_SUBJECT} ({whose}GDPR Art. 4(11), Art. 7): {role} cannot give it"
        )
    if role not in RELAY_ACTORS or not who:
        raise PolicyRefusal(
            f"consent can be withdrawn only by the data subject or a tenant admin "
            f"(tenant-admin:<name>) relaying the subject's request, not by {role} (Art. 7(3))"
        )
    return actor


@dataclass
class _Act:
    """One explicit act (give, withdraw, refuse) inside its transaction."""

    vault: Vault
    conn: Connection
    tenant_id: str
    subject_id: str
    purpose: CompiledPurpose
    actor: str
    method: str
    at: datetime
    tenant: Tenant
    current: ConsentState | None = None  # the state before the act, when the act asked for it
    pending: WithRows | None = None  # a new record and its first event, written by audit()

    @cached_property
    def version(self) -> str:
        return self.vault.policy.version

    def latest(self) -> Any:
        return self.conn.execute(
            select(consent_records)
            .where(
                consent_records.c.tenant_id == self.tenant_id,
                consent_records.c.subject_id == self.subject_id,
                consent_records.c.purpose == self.purpose.name,
            )
            .order_by(consent_records.c.created_at.desc())
            .limit(1)
        ).first()

    def add_event(self, record_id: str, event: str, *, first: bool = False) -> None:
        seq = (
            0
            if first
            else self.conn.scalar(
                select(func.coalesce(func.max(consent_events.c.seq), 0)).where(
                    consent_events.c.tenant_id == self.tenant_id,
                    consent_events.c.record_id == record_id,
                )
            )
        )
        _INSERT_EVENT.run(
            self.conn,
            {
                "tenant_id": self.tenant_id,
                "record_id": record_id,
                "seq": int(seq or 0) + 1,
                "event": event,
                "at": self.at,
                "actor": self.actor,
                "method": self.method,
                "policy_version": self.version,
            },
        )

    def new_record(self, state: str) -> ConsentRecord:
        policy, at, version = self.vault.policy, self.at, self.version
        valid_for = policy.policy.consent.valid_for
        row: dict[str, Any] = {  # the record's columns
            "tenant_id": self.tenant_id,
            "record_id": new_id(),
            "subject_id": self.subject_id,
            "purpose": self.purpose.name,
            "policy_version": version,
            "notice_hash": notice_hash(policy, self.tenant),
            "purpose_fingerprint": self.purpose.fingerprint,
            "method": self.method,
            "actor": self.actor,
            "state": state,
            "created_at": at,
            "state_at": at,
            "expires_at": valid_for.after(at) if valid_for and state == "given" else None,
        }
        event = ConsentEvent(state, at, self.actor, self.method, version)
        record = ConsentRecord(**row, events=(event,))

        def write(conn: Connection) -> None:
            _INSERT_RECORD.run(conn, row)
            self.add_event(record.record_id, state, first=True)

        # Written with the act's audit entry (audit() below): on PostgreSQL in its statement, bound
        # by these names; SQLite writes them with ``write``, so they are not made there.
        postgres = self.conn.dialect.name == "postgresql"
        values = {f"r_{name}": value for name, value in row.items()} if postgres else {}
        self.pending = WithRows(_RECORD_AND_EVENT, values, write)
        return record

    def set_state(self, record_id: str, state: str) -> None:
        self.conn.execute(
            update(consent_records)
            .where(
                consent_records.c.tenant_id == self.tenant_id,
                consent_records.c.record_id == record_id,
            )
            .values(state=state, state_at=self.at)
        )
        self.add_event(record_id, state)

    def audit(self, action: str, record: str | ConsentRecord, **details: Any) -> ConsentRecord:
        """Audit the act in its own transaction (Art. 5(2), Art. 7(1)) and return the record
        (read back, unless it was just written: then it is the one given)."""
        record_id = record if isinstance(record, str) else record.record_id
        pending, self.pending = self.pending, None
        self.vault.audit(
            self.conn,
            self.tenant_id,
            AuditEntry(
                actor=self.actor,
                action=action,
                purpose=self.purpose.name,
                legal_basis="consent",
                subject_id=self.subject_id,
                categories=sorted(self.purpose.categories),
                details={
                    "record": record_id,
                    "policy_version": self.version,
                    "method": self.method,
                    **details,
                },
            ),
            with_rows=pending,
        )
        if isinstance(record, ConsentRecord):
            return record
        return load_record(self.conn, self.tenant_id, record_id)


# Built once: consent acts are frequent (only parameters change).
_INSERT_RECORD = Prepared(insert(consent_records))
_INSERT_EVENT = Prepared(insert(consent_events))
# PostgreSQL: the record and its first event (the same values add_event(first=True) writes) as two
# CTEs of the audit entry's statement (WithRows), the event made from the record the first inserted;
# their values are the record's columns prefixed r_.
_r = consent_records.c
_NEW = (
    insert(consent_records)
    .values({c.name: bindparam(f"r_{c.name}", type_=c.type) for c in consent_records.columns})
    .returning(
        _r.tenant_id, _r.record_id, _r.state, _r.created_at, _r.actor, _r.method, _r.policy_version
    )
    .cte("new_record")
)
_NEW_EVENT = (
    insert(consent_events)
    .from_select(
        ["tenant_id", "record_id", "seq", "event", "at", "actor", "method", "policy_version"],
        select(
            _NEW.c.tenant_id,
            _NEW.c.record_id,
            literal_column("1"),
            _NEW.c.state,
            _NEW.c.created_at,
            _NEW.c.actor,
            _NEW.c.method,
            _NEW.c.policy_version,
        ),
    )
    .cte("new_event")
)
_RECORD_AND_EVENT = (_NEW, _NEW_EVENT)


@contextmanager
def _act(
    vault: Vault,
    tenant_id: str,
    subject: str,
    purpose: str,
    actor: str | None,
    method: str,
    at: datetime | None,
    verb: str,
    *,
    state: bool = False,
) -> Iterator[_Act]:
    """The act's transaction; with ``state``, the act is told the subject's consent state for the
    purpose at the act's moment, read with the tenant and the subject (see :func:`_read`)."""
    if method not in METHODS:
        raise InvalidInput(f"method must be one of {', '.join(METHODS)}", pointer="method")
    refusal: PolicyRefusal | None = None
    subject_id: str | None = None
    # Read the state with the subject only for a purpose the act may be for (any other is refused
    # below) and an aware time (a naive one is refused when first bound, after the checks).
    known = vault.policy.purposes.get(purpose)
    ask = known if state and known and known.legal_basis == "consent" else None
    with vault.transaction() as conn:
        when = at or utcnow()  # in UTC, as the record reads back (a naive time is refused)
        when = when.astimezone(UTC) if when.tzinfo is not None else when
        ask = ask if when.tzinfo is not None else None
        # NotFound (no tenant, no subject): no audit
        subject_id, kind, tenant, current = _read(
            vault, conn, tenant_id, subject, ask, when, act=True
        )
        try:
            compiled = _purpose(vault, purpose)
            audited_actor = _actor(subject_id, kind, actor, verb)
        except PolicyRefusal as exc:
            refusal = exc
        else:
            if state and current is None:  # a naive time: refused here, as before
                current = consent_state(
                    conn, tenant_id, subject_id, compiled, vault.policy.version, when
                )
            act = _Act(
                vault, conn, tenant_id, subject_id, compiled, audited_actor, method, when, tenant,
                current,
            )  # fmt: skip
            yield act
            if act.pending is not None:  # never: every change commits with its audit entry
                raise RuntimeError("a consent record was made but not audited; rolled back")
    if refusal is not None:  # a refused act is audited too, in its own transaction
        _audit_refusal(vault, tenant_id, subject_id, purpose, actor, verb, refusal)
        raise refusal


def _audit_refusal(
    vault: Vault,
    tenant_id: str,
    subject_id: str | None,
    purpose: str,
    actor: str | None,
    verb: str,
    refusal: PolicyRefusal,
) -> None:
    known = purpose in vault.policy.purposes  # raw input is never recorded
    entry = AuditEntry(
        actor=check_actor(actor) if actor else f"subject:{subject_id}",
        action=f"consent.{verb}",
        outcome="deny",
        purpose=purpose if known else None,
        subject_id=subject_id,
        reason=refusal.message,
    )
    with vault.transaction() as conn:
        vault.audit(conn, tenant_id, entry)


def give_consent(
    vault: Vault,
    tenant_id: str,
    subject: str,
    purpose: str,
    *,
    actor: str | None = None,
    method: str = "cli",
    at: datetime | None = None,
) -> ConsentRecord:
    """Record the subject's explicit consent to ``purpose`` under the policy in force (Art. 7(1))."""
    with _act(vault, tenant_id, subject, purpose, actor, method, at, "give", state=True) as act:
        current = act.current
        assert current is not None  # asked for with state=True
        if current.valid and current.record_id:  # already given for this very purpose text
            return act.audit("consent.give", current.record_id, unchanged=True)
        return act.audit("consent.give", act.new_record("given"), unchanged=False)


def withdraw_consent(
    vault: Vault,
    tenant_id: str,
    subject: str,
    purpose: str,
    *,
    actor: str | None = None,
    method: str = "cli",
    at: datetime | None = None,
) -> ConsentRecord:
    """Withdraw consent (Art. 7(3)): effective at the next decision; the record and history stay."""
    with _act(vault, tenant_id, subject, purpose, actor, method, at, "withdraw") as act:
        row = act.latest()
        if row is None or row.state == "refused":
            raise NotFound(f"no consent for {purpose} to withdraw")
        if row.state == "given":
            act.set_state(row.record_id, "withdrawn")
        return act.audit("consent.withdraw", row.record_id, unchanged=row.state != "given")


def refuse_consent(
    vault: Vault,
    tenant_id: str,
    subject: str,
    purpose: str,
    *,
    actor: str | None = None,
    method: str = "cli",
    at: datetime | None = None,
) -> ConsentRecord:
    """Record that the subject said no when asked: as much an explicit act as saying yes."""
    with _act(vault, tenant_id, subject, purpose, actor, method, at, "refuse") as act:
        return act.audit("consent.refuse", act.new_record("refused"))


# -- reading ---------------------------------------------------------------------------------------


def subject_consents(
    vault: Vault, tenant_id: str, subject: str, *, actor: str = "operator"
) -> dict[str, Any]:
    """What `consent show` prints: per consent purpose the state now, plus every record; the
    showing is audited (``consent.show``) in the same transaction (Art. 5(2))."""
    check_actor(actor)
    now = utcnow()
    with vault.transaction() as conn:
        subject_id, _, _, _ = _read(vault, conn, tenant_id, subject, None, now)
        records = records_of(conn, tenant_id, subject_id)
        audit_show(vault, conn, tenant_id, actor, subject_id, records=len(records))
        states = {
            name: consent_state(conn, tenant_id, subject_id, purpose, vault.policy.version, now)
            for name, purpose in sorted(vault.policy.purposes.items())
            if purpose.legal_basis == "consent"
        }
    return {
        "tenant": tenant_id,
        "subject_id": subject_id,
        "policy_version": vault.policy.version,
        "purposes": {
            name: {"valid": s.valid, "reason": s.reason, "record_id": s.record_id}
            for name, s in states.items()
        },
        "records": [r.as_dict() for r in records],
    }
