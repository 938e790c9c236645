"""Consent: given only by the subject itself (its own token), withdrawn or refused by the subject or
relayed by its tenant's admin (Art. 7(1), 7(3)); every showing audited."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Path

from callvault import (
    Principal,
    consent_receipt,
    give_consent,
    refuse_consent,
    subject_consents,
    withdraw_consent,
)
from callvault.api.auth import SUBJECT, allow, in_tenant, surrogate
from callvault.api.deps import VaultDep
from callvault.api.problems import documented

router = APIRouter(prefix="/api/v1/tenants/{tenant}", tags=["consent"])
ERRORS = documented(401, 403, 404, 413, 422)
ACTS = {"give": give_consent, "withdraw": withdraw_consent, "refuse": refuse_consent}
# Who may perform each act: consent is the subject's own act; a withdrawal may be relayed.
ROLES = {"give": ("subject",), "withdraw": ("subject", "tenant_admin"),
         "refuse": ("subject", "tenant_admin")}  # fmt: skip


def _subject(subject: str = SUBJECT, who: Principal = Depends(in_tenant)) -> Principal:
    who.require_subject(who.tenant_id, subject)
    return who


@router.get("/subjects/{subject}/consents", responses=ERRORS,
            summary="Consent per purpose and every record with its history")  # fmt: skip
def show(
    vault: VaultDep, tenant: str, subject: str, who: Principal = Depends(_subject)
) -> dict[str, Any]:
    allow(vault, who, "consent.show", "subject", "tenant_admin")
    return subject_consents(vault, tenant, subject, actor=who.actor)


@router.post("/subjects/{subject}/consents/{purpose}/{act}", responses=ERRORS,
             summary="Give, withdraw or refuse consent to one purpose")  # fmt: skip
def act(
    vault: VaultDep,
    tenant: str,
    subject: str,
    purpose: str = Path(max_length=64),
    act: Literal["give", "withdraw", "refuse"] = Path(),
    who: Principal = Depends(_subject),
) -> dict[str, Any]:
    allow(vault, who, f"consent.{act}", *ROLES[act])
    record = ACTS[act](vault, tenant, subject, purpose, actor=who.actor, method="api")
    return record.as_dict()


@router.get("/consent-receipts/{record}", responses=ERRORS,
            summary="The receipt of one consent record (ISO/IEC TS 27560)")  # fmt: skip
def receipt(
    vault: VaultDep, tenant: str, record: str = surrogate(), who: Principal = Depends(in_tenant)
) -> dict[str, Any]:
    allow(vault, who, "consent.receipt", "tenant_admin")
    return consent_receipt(vault, tenant, record, actor=who.actor)
