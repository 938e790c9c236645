"""Who the requester is: the identity verification a data subject request carries (Art. 12(6)).

A request made by the subject itself (API, privacy centre) is verified by a one-time code delivered to
an identifier already held for that subject, or by a token bound to that subject; the adapter that
checked it says so here, naming the subject it verified. The CLI is the local operator acting on a
request verified elsewhere (method ``operator``, by whom). An unverified identity, or one verified for
another subject, never reads, exports, corrects or erases anybody: the refusal is audited.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection

from callvault.clock import utcnow
from callvault.errors import PolicyRefusal
from callvault.store.audit_chain import AuditEntry
from callvault.subjects.actors import check_actor
from callvault.vault import Vault

# How an identity may be verified; "none" is what an adapter passes when nothing was checked.
METHODS = ("operator", "controller", "one_time_code", "subject_token")
# Methods that prove control of one subject's identifier: they must name that subject.
SUBJECT_BOUND = ("one_time_code", "subject_token")
LOCAL_OPERATOR = "operator"  # the CLI's operator: acts on requests verified elsewhere


@dataclass(frozen=True)
class Verification:
    """The identity check of a request: ``method``, who performed it (``by``, an actor role), when,
    and for subject-bound methods the surrogate id of the subject it proved."""

    method: str
    by: str = "operator"
    at: datetime | None = None
    subject_id: str | None = None

    @classmethod
    def operator(cls, by: str | None = None) -> Verification:
        """The local operator vouches for a request verified elsewhere (the CLI's default)."""
        return cls("operator", check_actor(by or "operator"), utcnow())


def verification_problem(verification: Verification | None, subject_id: str) -> str | None:
    """Why ``verification`` does not let its holder act on ``subject_id`` (None: it does)."""
    if verification is None or verification.method not in METHODS:
        return "identity not verified"
    if verification.method in SUBJECT_BOUND and verification.subject_id != subject_id:
        return "identity verified for another subject"
    if verification.subject_id is not None and verification.subject_id != subject_id:
        return "identity verified for another subject"
    return None


def self_vouched(verification: Verification | None, actor: str) -> bool:
    """Did the named operator who now carries the request out also vouch for the identity? Then
    the party that vouches and the party that receives (or erases) are one, self-declared, and
    nobody else checked the requester (Art. 12(6)). A controller's check or one bound to the
    subject is someone else's word; the local CLI operator (bare ``operator``) acts on a request
    verified elsewhere, as ``--verified-by`` records."""
    return (
        verification is not None
        and verification.method == "operator"
        and actor != LOCAL_OPERATOR
        and verification.by == actor
    )


def identity_refusal(
    vault: Vault,
    conn: Connection,
    tenant_id: str,
    subject_id: str,
    verification: Verification | None,
    *,
    action: str,
    actor: str,
    carried_out: bool = False,
) -> PolicyRefusal | None:
    """None when ``verification`` holds for ``subject_id``. Otherwise the refusal is audited in
    ``conn`` and returned: the caller does nothing else, lets the transaction commit, then raises it
    (exit 3), so the refusal's audit entry is kept. With ``carried_out`` (an export, an erasure) a
    check the acting operator recorded itself is refused too (:func:`self_vouched`)."""
    problem = verification_problem(verification, subject_id)
    rule = "identity"
    if problem is None and carried_out and self_vouched(verification, actor):
        problem, rule = (
            "identity vouched for by the operator who carries out the request",
            ("identity.self_vouched"),
        )
    if problem is None:
        return None
    vault.audit(
        conn,
        tenant_id,
        AuditEntry(actor=actor, action=action, outcome="deny", subject_id=subject_id,
                   reason=problem, details={"rule": rule}),
    )  # fmt: skip
    return PolicyRefusal(f"refused: {problem} (GDPR Art. 12(6))")
