"""The disclosure gate's decision: who may receive a subject's export (GDPR Art. 15, 20, 28(3)(a)).

The policy names the recipients (``recipients: [subject, controller]``); everyone else is a third
party. A recipient is never self-declared: it is bound to the authenticated actor (the adapter
authenticates it; in the CLI the local operator acts as the role ``--actor`` names).

- ``subject``: the data subject itself, acting as ``subject:<its surrogate id>`` (Art. 15(1),
  20(1)), or the operator carrying out an access request whose identity check passed (Art. 12(2),
  12(6)): ``operator`` (the local CLI) or one of its named administrators, ``operator:<name>`` (an
  ``operator_admin`` API token); the library marks such a request, no caller declares it, and
  a named operator's export on a check it recorded itself is refused before this gate
  (:func:`callvault.rights.identity.self_vouched`). An active restriction does not
  limit the subject's own access (Art. 18 restricts processing, not the right of access).
- ``controller``: the tenant, acting as ``tenant-admin:<name>`` of that tenant (Art. 28(3)(a)).
  A restricted subject's data is not disclosed to the controller: under restriction only storage
  is allowed (Art. 18(2)).

A refused recipient is never quoted in a reason: it may be a person's address, and reasons are
audited.
"""

from __future__ import annotations

from callvault.policy import CompiledPolicy
from callvault.processing.gate import NO_THIRD_PARTIES, Decision
from callvault.tenants import Tenant

SUBJECT, CONTROLLER, THIRD_PARTY = "subject", "controller", "third_party"
TENANT_ADMIN = "tenant-admin"
OPERATOR = "operator"  # the processor: ``operator`` or ``operator:<name>``


def recipient_kind(policy: CompiledPolicy, tenant: Tenant, recipient: str) -> str:
    """``subject`` or ``controller`` when the policy allows that kind, ``third_party`` otherwise."""
    kind, _, who = recipient.strip().partition(":")
    if kind == CONTROLLER and who in ("", tenant.id):
        who = ""
    return kind if not who and kind in policy.recipients else THIRD_PARTY


def _third_party(policy: CompiledPolicy) -> Decision:
    return Decision(
        False,
        "third party: the recipient is not one the policy allows "
        f'({", ".join(sorted(policy.recipients))}). The policy says: "{NO_THIRD_PARTIES}"',
        "recipients.third_party",
        None,
    )


def _is_operator(actor: str) -> bool:
    role, colon, name = actor.partition(":")
    return role == OPERATOR and (not colon or bool(name))


def _bound_to_subject(actor: str, subject_id: str, verified_request: bool) -> Decision | None:
    if actor == f"subject:{subject_id}" or (verified_request and _is_operator(actor)):
        return None
    return Decision(
        False,
        "recipient not bound to the actor: an export to the subject goes only to the subject "
        "itself (subject:<its id>) or to the operator carrying out its verified access request "
        "(GDPR Art. 12(6), 15(1))",
        "recipients.subject.not_bound",
        None,
    )


def _bound_to_controller(actor: str, tenant: Tenant, restricted: bool) -> Decision | None:
    role, _, name = actor.partition(":")
    if role != TENANT_ADMIN or not name:
        return Decision(
            False,
            "recipient not bound to the actor: an export to the controller goes only to a tenant "
            f"admin (tenant-admin:<name>) of tenant {tenant.id} (GDPR Art. 28(3)(a))",
            "recipients.controller.not_bound",
            None,
        )
    if restricted:
        return Decision(
            False,
            "subject restricted: the subject has restricted processing of their data; only "
            "storage is allowed, not disclosure to the controller (GDPR Art. 18(2))",
            "restriction",
            None,
        )
    return None


def decide_disclosure(
    policy: CompiledPolicy,
    tenant: Tenant,
    recipient: str,
    *,
    actor: str,
    subject_id: str,
    restricted: bool = False,
    verified_request: bool = False,
) -> Decision:
    """May the subject's data go to ``recipient`` when ``actor`` asks? The subject itself and its
    controller only, each bound to the actor that may speak for it."""
    kind = recipient_kind(policy, tenant, recipient)
    if kind == SUBJECT:
        refused = _bound_to_subject(actor, subject_id, verified_request)
    elif kind == CONTROLLER:
        refused = _bound_to_controller(actor, tenant, restricted)
    else:
        return _third_party(policy)
    return refused or Decision(True, "allowed", f"recipients.{kind}", None)
