"""A subject's own requests, made and followed in the privacy centre (Art. 12, 16, 17).

The subject, signed in with a one-time code (the adapter's :class:`Verification` names it), asks for
erasure or rectification; the request is recorded ``pending`` with its due date (Art. 12(3)) and the
tenant's administrator answers it later (:func:`~callvault.rights.erasure.erase`,
:func:`~callvault.rights.rectification.rectify` with the request id). Nothing is erased or changed
here. A rectification's new value is checked now (the error names the field, never the value) and
kept sealed under the subject's data key until the request is answered: erasing the subject shreds it
with the rest (Art. 17), and :func:`requested_value` opens it for the administrator, audited.

The subject lists its requests (audited ``subject.requests``) and cancels one still ``pending``;
a request of anyone else is "not found".
"""

from __future__ import annotations

import base64

from sqlalchemy import Connection, select

from callvault.crypto.keyring import field_aad
from callvault.errors import InvalidInput, NotFound
from callvault.rights.identity import Verification, identity_refusal
from callvault.rights.rectification import FIELDS
from callvault.rights.requests import SubjectRequest, _from_row, _load, finish_request, open_request
from callvault.store.audit_chain import AuditEntry
from callvault.store.schema.requests import subject_requests
from callvault.subjects.actors import check_actor
from callvault.subjects.directory import find_subject, subject_dek, tenant_region
from callvault.subjects.identifiers import index_form
from callvault.tenants import get_tenant
from callvault.vault import Vault

__all__ = ["ask_request", "cancel_own_request", "own_requests", "requested_value"]

ASKABLE = ("erasure", "rectification")
CHANNEL = "privacy_centre"
_NAME_MAX = 200


def _actor(subject_id: str) -> str:
    return check_actor(f"subject:{subject_id}")


def check_value(field: str, value: str, region: str) -> str:
    """The new value, stripped, when it is a valid ``field``; InvalidInput naming the field."""
    if field not in FIELDS:
        raise InvalidInput(f"must be one of {', '.join(FIELDS)}", pointer="field")
    text = value.strip()
    if not text or len(text) > _NAME_MAX or any(ord(ch) < 32 for ch in text):
        raise InvalidInput(f"the new {field} must be 1 to {_NAME_MAX} printable characters",
                           pointer=field)  # fmt: skip
    if field in ("email", "phone"):
        try:
            index_form(field, text, region)
        except InvalidInput as exc:
            raise InvalidInput(f"the new {field} is not valid", pointer=field) from exc
    return text


def _sealed_aad(tenant_id: str, subject_id: str, request_id: str) -> bytes:
    return field_aad(tenant_id, subject_id, f"request.{request_id}")


def ask_request(
    vault: Vault,
    tenant_id: str,
    subject_id: str,
    type_: str,
    *,
    verification: Verification | None,
    field: str | None = None,
    value: str | None = None,
) -> SubjectRequest:
    """Record the subject's own erasure or rectification request, ``pending``; PolicyRefusal
    (audited) when ``verification`` does not prove the subject; InvalidInput for a bad value."""
    if type_ not in ASKABLE:
        raise InvalidInput(f"must be one of {', '.join(ASKABLE)}", pointer="type")
    actor = _actor(subject_id)
    with vault.transaction() as conn:
        get_tenant(conn, tenant_id)
        found = find_subject(vault, conn, tenant_id, subject_id)
        refusal = identity_refusal(vault, conn, tenant_id, found, verification,
                                   action="request.receive", actor=actor)  # fmt: skip
        if refusal is None:
            text = (check_value(field or "", value or "", tenant_region(vault, conn, tenant_id))
                    if type_ == "rectification" else None)  # fmt: skip
            rid = open_request(vault, conn, tenant_id, found, type_, actor=actor, channel=CHANNEL,
                               verification=verification)  # fmt: skip
            if text is not None:
                _seal_value(vault, conn, tenant_id, found, rid, field or "", text)
            request = _load(conn, tenant_id, rid)
    if refusal is not None:
        raise refusal
    return request


def _seal_value(vault: Vault, conn: Connection, tenant_id: str, subject_id: str, rid: str,
                field: str, text: str) -> None:  # fmt: skip
    dek = subject_dek(vault, conn, tenant_id, subject_id)
    sealed = vault.keyring.encrypt(dek, text.encode(), _sealed_aad(tenant_id, subject_id, rid))
    t = subject_requests.c
    conn.execute(subject_requests.update()
                 .where(t.tenant_id == tenant_id, t.request_id == rid)
                 .values(evidence={"field": field,
                                   "sealed_value": base64.b64encode(sealed).decode()}))  # fmt: skip


def own_requests(vault: Vault, tenant_id: str, subject_id: str) -> list[SubjectRequest]:
    """The subject's requests, newest first; the reading is audited (``subject.requests``)."""
    t = subject_requests.c
    with vault.transaction() as conn:
        rows = conn.execute(select(subject_requests)
                            .where(t.tenant_id == tenant_id, t.subject_id == subject_id)
                            .order_by(t.received_at.desc(), t.request_id)).all()  # fmt: skip
        vault.audit(conn, tenant_id, AuditEntry(actor=_actor(subject_id), action="subject.requests",
                                                subject_id=subject_id,
                                                details={"count": len(rows)}))  # fmt: skip
    return [_from_row(row) for row in rows]


def cancel_own_request(vault: Vault, tenant_id: str, subject_id: str, request_id: str) -> SubjectRequest:  # fmt: skip
    """Cancel the subject's own ``pending`` request; NotFound for any other request."""
    with vault.transaction() as conn:
        try:
            current = _load(conn, tenant_id, request_id)
        except NotFound:
            current = None
        if current is None or current.subject_id != subject_id or current.state != "pending":
            raise NotFound("no such pending request of yours")
        return finish_request(vault, conn, tenant_id, request_id, "cancelled",
                              actor=_actor(subject_id), outcome="withdrawn by the subject")  # fmt: skip


def requested_value(vault: Vault, tenant_id: str, request_id: str, *, actor: str = "operator") -> tuple[str, str]:  # fmt: skip
    """The field and new value of an open rectification request asked in the privacy centre, for
    the administrator who answers it with :func:`rectify`; the opening is audited."""
    check_actor(actor)
    with vault.transaction() as conn:
        request = _load(conn, tenant_id, request_id)
        sealed = request.evidence.get("sealed_value")
        if request.type != "rectification" or request.subject_id is None or not sealed:
            raise NotFound("no rectification value in this request")
        dek = subject_dek(vault, conn, tenant_id, request.subject_id)
        aad = _sealed_aad(tenant_id, request.subject_id, request_id)
        value = vault.keyring.decrypt(dek, base64.b64decode(sealed), aad).decode()
        vault.audit(conn, tenant_id, AuditEntry(actor=actor, action="request.value",
                                                subject_id=request.subject_id,
                                                details={"request_id": request_id,
                                                         "field": request.evidence["field"]}))  # fmt: skip
    return str(request.evidence["field"]), value
