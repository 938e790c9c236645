"""Access and portability (GDPR Art. 15, Art. 20): everything held on a subject, in one zip.

The export is a read of personal data: it passes the disclosure gate for the recipient ``subject``
(the subject itself, or the operator carrying out its verified access request, Art. 12(6)), an
unverified or mismatched identity is refused, and the read is audited (action ``subject.access``),
refusals included. Nothing past its retention period is in it (the reads' rules). Voicemail audio is
decrypted only with the allowed decision in hand, byte-identical to what was ingested: the messages
in the subject's mailbox (``voicemail/``) and those it left in other users' (``voicemail_left/``,
see :mod:`callvault.rights.access_document` for how their mailbox owner is shown).

Every part is set-based: a fixed number of queries whatever the number of calls or messages (the
recordings' shares, data keys and message keys fetched together), so an export costs about what
selecting the same rows costs (``bench/erasure.py``).

The zip is written with mode 0600 to a temporary file in the target directory while the transaction
runs, and renamed into place only after the transaction, with its audit entry, has committed: no
export exists without its entry, and a failed commit leaves no file.
"""

from __future__ import annotations

import json
import os
import zipfile
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, select

from callvault.clock import utcnow
from callvault.errors import InvalidInput, PolicyRefusal
from callvault.policy.taxonomy import VOICEMAIL
from callvault.processing.gate import Decision
from callvault.processing.parties import contact_key
from callvault.processing.reads import Renderer, subject_data
from callvault.processing.recordings import decrypt_audios
from callvault.retention.rules import held_from
from callvault.rights import access_document as D
from callvault.rights.disclosure import _check_out
from callvault.rights.identity import Verification, identity_refusal
from callvault.rights.recipients import SUBJECT, decide_disclosure
from callvault.rights.requests import finish_request, request_for
from callvault.store.audit_chain import AuditEntry
from callvault.store.schema.core import voicemails
from callvault.subjects.actors import check_actor
from callvault.subjects.directory import find_subject
from callvault.tenants import Tenant, get_tenant
from callvault.vault import Vault

ACTION = "subject.access"


def export_subject(
    vault: Vault,
    tenant_id: str,
    subject: str,
    out_path: str | Path,
    *,
    verification: Verification | None,
    actor: str = "operator",
    portability: bool = False,
    request_id: str | None = None,
    at: datetime | None = None,
    channel: str = "cli",
) -> dict[str, Any]:
    """Write the subject's access export to the new file ``out_path`` (a zip); returns counts."""
    check_actor(actor)
    path = Path(out_path)
    _check_out(path)  # before anything is decided or audited
    at = at or utcnow()
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with vault.transaction() as conn:
            tenant = get_tenant(conn, tenant_id)
            subject_id = find_subject(vault, conn, tenant_id, subject)
            refusal = _refusal(vault, conn, tenant, subject_id, verification, actor)
            if refusal is None:
                rid = request_for(vault, conn, tenant_id, subject_id,
                                  "portability" if portability else "access", actor=actor,
                                  verification=verification, request_id=request_id,
                                  channel=channel)  # fmt: skip
                counts = _write(vault, conn, tenant, subject_id, temporary, at, rid)
                finish_request(vault, conn, tenant_id, rid, "completed", actor=actor,
                               outcome="export delivered", evidence={"exported": counts})  # fmt: skip
                vault.audit(conn, tenant_id, AuditEntry(
                    actor=actor, action=ACTION, outcome="allow", subject_id=subject_id,
                    categories=sorted(tenant.collect), reason="verified access request",
                    details={"rule": "recipients.subject", "request_id": rid, **counts}))  # fmt: skip
        if refusal is not None:
            raise refusal
        _publish(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    return {"tenant": tenant_id, "subject": subject_id, "request": rid, "out": str(path), **counts}


def _refusal(
    vault: Vault,
    conn: Connection,
    tenant: Tenant,
    subject_id: str,
    verification: Verification | None,
    actor: str,
) -> PolicyRefusal | None:
    """An unverified identity, or an actor the disclosure gate does not bind to the subject:
    refused and audited (Art. 12(6), 15(1))."""
    refusal = identity_refusal(vault, conn, tenant.id, subject_id, verification, action=ACTION,
                               actor=actor, carried_out=True)  # fmt: skip
    if refusal is not None:
        return refusal
    decision = decide_disclosure(vault.policy, tenant, SUBJECT, actor=actor,
                                 subject_id=subject_id, verified_request=True)  # fmt: skip
    if decision.allowed:
        return None
    vault.audit(conn, tenant.id, AuditEntry(actor=actor, action=ACTION, outcome="deny",
                                            subject_id=subject_id, reason=decision.reason,
                                            details={"rule": decision.rule}))  # fmt: skip
    return PolicyRefusal(decision.reason, decision=decision)


def _write(
    vault: Vault,
    conn: Connection,
    tenant: Tenant,
    subject_id: str,
    temporary: Path,
    at: datetime,
    request_id: str,
) -> dict[str, int]:
    collected = frozenset(tenant.collect)
    decision = Decision(True, "verified access request", "recipients.subject", None, collected)
    # Other parties as reads show them: colleagues by name, callers as contact tokens (Art. 15(4)).
    others = Renderer(None, frozenset(), contact_key(vault, conn, tenant.id))
    data = subject_data(vault, conn, tenant.id, subject_id, collected, others, at=at)
    oldest = held_from(vault, tenant, at)["voicemail"]
    left = D.voicemails_left(vault, conn, tenant.id, subject_id, collected, others, oldest)
    document = {
        "format": D.EXPORT_FORMAT, "tenant": tenant.id, "subject": subject_id,
        "request": request_id, "exported_at": at.isoformat(), "policy_version": vault.policy.version,
        "controller": {"tenant": tenant.id, "name": tenant.name},
        "processor": vault.policy.policy.operator.name,
        **data, "voicemails_left": left, **D.held_records(conn, tenant.id, subject_id),
        "categories": D.categories_info(vault, tenant, collected),
    }  # fmt: skip
    own = [item["voicemail_id"] for item in data.get("voicemails", [])]
    audio = _audio(vault, conn, tenant.id, own, [item["voicemail_id"] for item in left], decision)
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle, zipfile.ZipFile(handle, "w") as zf:
        # Compact JSON: the C encoder (an indent makes json fall back to pure Python, seconds for
        # ten thousand calls); deflate at level 1 for the text; the recordings are stored as they
        # are (audio barely deflates, and what the subject unpacks is byte-identical either way).
        text = json.dumps(document, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        zf.writestr("subject.json", text, zipfile.ZIP_DEFLATED, 1)
        zf.writestr("calls.csv", D.calls_csv(data.get("calls", [])), zipfile.ZIP_DEFLATED, 1)
        for name, content in audio.items():
            zf.writestr(name, content, zipfile.ZIP_STORED)
    os.chmod(temporary, 0o600)  # whatever the umask
    return {"calls": len(data.get("calls", [])), "voicemails": len(own),
            "voicemails_left": len(left), "audio_files": len(audio),
            "consents": len(document["consents"])}  # fmt: skip


def _audio(
    vault: Vault,
    conn: Connection,
    tenant_id: str,
    own: list[str],
    left: list[str],
    decision: Decision,
) -> dict[str, bytes]:
    """{zip member name: recording} of the messages in the export: those in the subject's mailbox
    and those it left in others' (its voice either way), decrypted together (a few queries)."""
    ids = own + left
    if VOICEMAIL not in decision.categories or not ids:
        return {}
    v = voicemails.c
    formats: dict[str, str] = {}
    for start in range(0, len(ids), 1000):
        formats.update(tuple(row) for row in conn.execute(select(v.voicemail_id, v.audio_format).where(
            v.tenant_id == tenant_id, v.voicemail_id.in_(ids[start : start + 1000]))))  # fmt: skip
    recordings = decrypt_audios(vault, conn, tenant_id, ids, decision)
    folders = [(D.OWN_AUDIO, own), (D.LEFT_AUDIO, left)]
    return {
        f"{folder}/{vid}.{formats[vid]}": recordings[vid]
        for folder, group in folders
        for vid in group
    }


def _publish(temporary: Path, path: Path) -> None:
    """Move the committed export into place; never over an existing file."""
    try:
        os.link(temporary, path)
    except FileExistsError as exc:
        raise InvalidInput(f"--out {path} already exists") from exc
