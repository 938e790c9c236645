"""The request queue's actions for a tenant admin (Art. 12): open a request, mark it in progress,
extend it (Art. 12(3): by one or two months, inside the first month, with the reason told to the
subject), complete it by carrying it out (erasure, rectification, restriction, objection: the library's
operations, audited as the admin's actor; an access or portability export goes to the subject
itself, in the privacy centre), refuse it with
its reason (Art. 12(4)) or cancel it.

The request id travels in the posted form, never in a URL; a request of another tenant, an unknown
one and a malformed id all get the same 404. Each action answers with the request's page (no
redirect that would need its id in a URL); an error names the field, never a value."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from callvault import (
    CallvaultError,
    NotFound,
    Principal,
    SubjectRequest,
    UsageError,
    Vault,
    Verification,
    cancel_request,
    erase,
    extend_request,
    get_request,
    object_to,
    parse_instant,
    rectify,
    refuse_request,
    requested_value,
    restrict,
    start_request,
)
from callvault.web.admin_common import not_found, posted, vault_of
from callvault.web.pages import render
from callvault.web.sessions import Session

router = APIRouter()
FIELDS = ("name", "email", "phone")  # what rectification may replace (rights/rectification.py)
OBJECTABLE = ("legitimate_interest", "public_task")  # Art. 21(1)


def _request(vault: Vault, who: Principal, fields: dict[str, str]) -> SubjectRequest | None:
    """The posted request of the admin's own tenant, or None (unknown, malformed, another's)."""
    try:
        rid = str(uuid.UUID(fields.get("request", "")))
        return get_request(vault, who.tenant_id, rid)
    except (ValueError, NotFound):
        return None


def _objectable(vault: Vault) -> list[str]:
    purposes = vault.policy.purposes.values()
    return sorted(p.name for p in purposes if p.legal_basis in OBJECTABLE)


def _sealed(found: SubjectRequest) -> bool:
    """A rectification asked in the privacy centre: its new value is sealed in the request."""
    return found.type == "rectification" and bool(found.evidence.get("sealed_value"))


def _show(request: Request, session: Session, vault: Vault, who: Principal,
          found: SubjectRequest, status: int = 200, **message: Any) -> Response:  # fmt: skip
    """The request's page. An open privacy-centre rectification shows the field and value the
    subject asked for, opened for this admin (audited, Art. 16), never the sealed value itself."""
    asked = None
    if _sealed(found) and found.state in ("pending", "in_progress"):
        asked = requested_value(vault, who.tenant_id, found.request_id, actor=who.actor)
    evidence = {k: v for k, v in found.evidence.items() if k != "sealed_value"}
    return render(request, "admin_request.html", session, status=status, r=found, asked=asked,
                  evidence=evidence, fields=FIELDS, objectable=_objectable(vault), **message)  # fmt: skip


def _rectification(vault: Vault, found: SubjectRequest, who: Principal,
                   fields: dict[str, str]) -> tuple[str, str]:  # fmt: skip
    """The field and value to rectify: the subject's own, from the request, when it holds them
    (the admin only confirms); else typed by the admin, for the field the request names if any."""
    if _sealed(found):
        return requested_value(vault, who.tenant_id, found.request_id, actor=who.actor)
    field, named = fields.get("field", ""), found.evidence.get("field")
    if named and field != named:
        raise UsageError(f"field: the request asks to rectify {named}")
    return field, fields.get("value", "")


async def _posted_request(request: Request) -> Response | tuple[Any, ...]:
    """The signed-in admin's posted form and the request it names, or the page to answer with
    (sign-in, CSRF refusal, or the audited not-found page for another tenant's or an unknown id)."""
    got = await posted(request)
    if isinstance(got, Response):
        return got
    session, who, fields = got
    vault = vault_of(request)
    found = _request(vault, who, fields)
    if found is None:
        return not_found(request, session, who)
    return session, who, fields, vault, found


@router.post("/requests/open")
async def open_request_page(request: Request) -> Response:
    got = await _posted_request(request)
    if isinstance(got, Response):
        return got
    session, who, _, vault, found = got
    return _show(request, session, vault, who, found)


def _verification(found: SubjectRequest, who: Principal, fields: dict[str, str]) -> Verification:
    """The controller's admin answers the request (Art. 12(6)): a request received unverified is
    carried out only when the admin confirms having checked the requester's identity."""
    if found.verification_method is None and fields.get("identity_checked") != "yes":
        raise UsageError("the requester's identity is not verified: confirm the check first")
    return Verification("controller", by=who.actor)


def _complete(vault: Vault, found: SubjectRequest, who: Principal, fields: dict[str, str]) -> None:
    """Carry the request out through the library, answering this request (its id)."""
    if found.subject_id is None:
        raise UsageError("the request names no subject held")
    verified = _verification(found, who, fields)
    args = (vault, found.tenant_id, found.subject_id)
    common: dict[str, Any] = {"verification": verified, "actor": who.actor,
                              "request_id": found.request_id}  # fmt: skip
    if found.type == "erasure":
        erase(*args, **common)
    elif found.type == "rectification":
        rectify(*args, *_rectification(vault, found, who, fields), **common)
    elif found.type == "restriction":
        restrict(*args, **common)
    elif found.type == "objection":
        object_to(*args, fields.get("purpose", ""), **common)
    else:
        # Access and portability (Art. 15, 20): the disclosure gate binds an export to the subject
        # itself or the operator, never to the tenant admin; the subject downloads it in the
        # privacy centre (or the operator runs `callvault dsr access`), which completes this.
        raise UsageError("an access export goes to the subject itself: the subject downloads it "
                         "in the privacy centre")  # fmt: skip
    return None


def _act(vault: Vault, found: SubjectRequest, who: Principal, fields: dict[str, str]) -> None:
    action, rid, actor = fields.get("action"), found.request_id, who.actor
    if action == "start":
        start_request(vault, who.tenant_id, rid, actor=actor)
    elif action == "extend":
        notice = fields.get("notice_at", "").strip()
        extend_request(vault, who.tenant_id, rid, months=int(fields.get("months") or 0),
                       reason=fields.get("reason", ""), actor=actor,
                       notice_at=parse_instant(notice, field="notice_at") if notice else None)  # fmt: skip
    elif action == "refuse":
        reason = fields.get("reason", "").strip()
        if not reason:
            raise UsageError("a refusal needs its reason (GDPR Art. 12(4))")
        refuse_request(vault, who.tenant_id, rid, reason, actor=actor)
    elif action == "cancel":
        cancel_request(vault, who.tenant_id, rid, actor=actor)
    elif action == "complete":
        _complete(vault, found, who, fields)
    else:
        raise UsageError("unknown action")


@router.post("/requests/act")
async def act(request: Request) -> Response:
    got = await _posted_request(request)
    if isinstance(got, Response):
        return got
    session, who, fields, vault, found = got
    try:
        _act(vault, found, who, fields)
    except (CallvaultError, ValueError) as exc:
        # Library messages name the field and the rule, never the value (README: errors).
        message = str(exc) if isinstance(exc, CallvaultError) else "months: must be 1 or 2"
        return _show(request, session, vault, who, get_request(vault, who.tenant_id, found.request_id),
                     status=422, error=message)  # fmt: skip
    return _show(request, session, vault, who, get_request(vault, who.tenant_id, found.request_id),
                 done=fields.get("action"))  # fmt: skip
