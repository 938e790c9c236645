"""The disclosure gate: the only code path that exports personal data (GDPR Art. 5(1)(f), Art. 28(3)).

The policy names its recipients (``recipients: [subject, controller]``): the data subject itself (its
rights of access and portability, Art. 15 and 20) and the controller, the tenant whose instruction the
data is processed under (Art. 28(3)(a)). Every other recipient is a third party and is refused with the
published policy's sentence it would violate, "Miralix does not disclose personal data to any third
party." (source: ``spec/privacy-policy.txt``, "Miralix and personal data", item 3; see
:data:`callvault.processing.gate.NO_THIRD_PARTIES`). A refusal writes no file.

The recipient is bound to the actor (:mod:`callvault.rights.recipients`): ``--to subject`` only for
``subject:<that subject>`` (or the operator carrying out a verified access request), ``--to
controller`` only for ``tenant-admin:<name>`` of that tenant; any other pairing is refused (exit 3)
and audited. Other people in the subject's history appear the way reads show them: colleagues by
name, external callers as stable contact tokens, never their numbers (Art. 15(4): the right of
access must not adversely affect the rights of others; see :mod:`callvault.processing.parties`).

An allowed export is one JSON document (identifiers, call records, voicemail metadata of the subject,
in the categories the tenant collects) written with mode 0600 to a new file (an existing file or a
directory is refused, exit 5), and audited in the same transaction. The audit entry names the
recipient by kind only (``subject``, ``controller``, ``third_party``): a refused recipient may be a
person's address, and the audit log is never erased.
"""

from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path
from typing import Any

from callvault.clock import utcnow
from callvault.errors import InvalidInput, PolicyRefusal
from callvault.processing.gate import Decision
from callvault.processing.parties import contact_key
from callvault.processing.reads import Renderer, subject_data
from callvault.rights.recipients import decide_disclosure, recipient_kind
from callvault.rights.restriction import is_restricted
from callvault.store.audit_chain import AuditEntry
from callvault.subjects.actors import check_actor
from callvault.subjects.directory import find_subject
from callvault.tenants import get_tenant
from callvault.vault import Vault

EXPORT_FORMAT = "callvault-export/1"


def _check_out(path: Path) -> None:
    """A new file in an existing directory: never a directory, never an existing file."""
    if path.is_dir():
        raise InvalidInput(f"--out {path} is a directory; give the path of a new file")
    if path.exists() or path.is_symlink():
        raise InvalidInput(f"--out {path} already exists; give the path of a new file")
    if not path.parent.is_dir():
        raise InvalidInput(f"--out: directory {path.parent} does not exist")


def _write_temporary(path: Path, document: dict[str, Any]) -> Path:
    """Write ``document`` beside ``path`` to a temporary file readable by its owner only (0600)."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(document, handle, indent=2, sort_keys=True, ensure_ascii=False)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, 0o600)  # whatever the umask
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return temporary


def _publish(temporary: Path, path: Path) -> None:
    """Give the export its name, only after its audit entry has committed (no export without its
    entry): ``link`` is atomic and fails rather than overwrite."""
    try:
        os.link(temporary, path)
    except FileExistsError as exc:
        raise InvalidInput(f"--out {path} already exists") from exc
    finally:
        temporary.unlink(missing_ok=True)


def _entry(
    actor: str, subject_id: str, decision: Decision, kind: str, **details: Any
) -> AuditEntry:
    return AuditEntry(
        actor=actor,
        action="disclose",
        outcome="allow" if decision.allowed else "deny",
        subject_id=subject_id,
        categories=sorted(decision.categories),
        reason=decision.reason,
        details={"rule": decision.rule, "recipient": kind, **details},
    )


def disclose(
    vault: Vault,
    tenant_id: str,
    subject: str,
    recipient: str,
    out_path: str | Path,
    *,
    actor: str = "operator",
    at: datetime | None = None,
) -> dict[str, Any]:
    """Export the subject's data to ``recipient`` as a JSON file.

    PolicyRefusal (audited) for a third party, or when ``actor`` may not receive for ``recipient``
    (:func:`callvault.rights.recipients.decide_disclosure`).
    """
    check_actor(actor)
    path = Path(out_path)
    _check_out(path)  # before anything is decided or audited
    at = at or utcnow()
    temporary: Path | None = None
    try:
        with vault.transaction() as conn:
            tenant = get_tenant(conn, tenant_id)
            subject_id = find_subject(vault, conn, tenant_id, subject)
            kind = recipient_kind(vault.policy, tenant, recipient)
            restricted = is_restricted(conn, tenant_id, subject_id, at)
            decision = decide_disclosure(
                vault.policy, tenant, recipient, actor=actor, subject_id=subject_id,
                restricted=restricted,
            )  # fmt: skip
            if not decision.allowed:
                vault.audit(conn, tenant_id, _entry(actor, subject_id, decision, kind))
            else:
                categories = frozenset(tenant.collect)
                decision = Decision(True, decision.reason, decision.rule, None, categories)
                # Other parties as reads show them: names of colleagues, tokens of callers (Art. 15(4)).
                others = Renderer(None, frozenset(), contact_key(vault, conn, tenant_id))
                data = subject_data(vault, conn, tenant_id, subject_id, categories, others, at=at)
                document = {
                    "format": EXPORT_FORMAT,
                    "tenant": tenant_id,
                    "subject": subject_id,
                    "recipient": kind,
                    "exported_at": at.isoformat(),
                    "policy_version": vault.policy.version,
                    "categories": sorted(categories),
                    **data,
                }
                counts = {
                    "calls": len(data.get("calls", ())),
                    "voicemails": len(data.get("voicemails", ())),
                }
                vault.audit(conn, tenant_id, _entry(actor, subject_id, decision, kind, **counts))
                temporary = _write_temporary(path, document)  # a failed write rolls back the entry
    except BaseException:
        if temporary is not None:
            temporary.unlink(missing_ok=True)  # the commit failed: no export without its entry
        raise
    if temporary is not None:
        _publish(temporary, path)
    if not decision.allowed:
        raise PolicyRefusal(decision.reason, decision=decision)
    return {
        "tenant": tenant_id,
        "subject": subject_id,
        "recipient": kind,
        "out": str(path),
        **counts,
    }
