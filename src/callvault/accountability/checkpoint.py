"""Signed checkpoints of the audit log: its heads, anchored outside the vault (Art. 5(2), 32(1)(d)).

The HMAC chain stops anyone who can write the data database but lacks the audit key from forging or
editing entries. It cannot stop them from cutting off the newest entries and moving the head back to
an earlier, genuine entry. A checkpoint can: it records every chain's head (tenant, seq, hash) at a
moment, signed with the vault's Ed25519 key (kept wrapped in the key store), and is meant to be kept
off the machine (WORM storage, another system). Verifying against it proves that every entry it
recorded is still there, unchanged.

The signature is checked with the vault's own public key, never with the key a document carries, so a
forged checkpoint signed with another key fails.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from sqlalchemy import Connection, select

from callvault.store.audit_chain import OPERATOR, AuditEntry
from callvault.store.schema.core import audit_heads, audit_log

if TYPE_CHECKING:
    from callvault.vault import Vault

FORMAT = "callvault-audit-checkpoint/1"


@dataclass(frozen=True)
class Problem:
    tenant_id: str
    seq: int
    message: str

    def __str__(self) -> str:
        return f"tenant {self.tenant_id}, entry {self.seq}: {self.message}"


def _canonical(body: dict[str, Any]) -> bytes:
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()


def _signing_key(vault: Vault) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(vault.keyring.signing_seed())


def public_key(vault: Vault) -> str:
    """The vault's checkpoint verification key (raw Ed25519, base64): publish it with checkpoints."""
    raw = _signing_key(vault).public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return base64.b64encode(raw).decode()


def make_checkpoint(vault: Vault, *, actor: str = "operator") -> dict[str, Any]:
    """Every chain's head now, signed; the checkpoint itself is an entry of the operator's chain."""
    with vault.transaction() as conn:
        vault.audit(conn, OPERATOR, AuditEntry(actor=actor, action="audit.checkpoint"))
        heads = [
            {"tenant": r.tenant_id, "seq": r.seq, "hash": r.hash}
            for r in conn.execute(select(audit_heads).order_by(audit_heads.c.tenant_id))
        ]
    body = {
        "format": FORMAT,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "heads": heads,
        "public_key": public_key(vault),
    }
    signature = _signing_key(vault).sign(_canonical(body))
    return {**body, "signature": base64.b64encode(signature).decode()}


def _signature_problem(vault: Vault, document: dict[str, Any]) -> str | None:
    body = {k: v for k, v in document.items() if k != "signature"}
    try:
        signature = base64.b64decode(str(document["signature"]), validate=True)
        _signing_key(vault).public_key().verify(signature, _canonical(body))
    except (KeyError, ValueError, InvalidSignature):
        return "the checkpoint's signature does not verify with this vault's key (forged?)"
    if document.get("format") != FORMAT:
        return "not a callvault audit checkpoint"
    return None


def check_checkpoint(
    vault: Vault, conn: Connection, document: dict[str, Any], tenant_id: str | None = None
) -> Problem | None:
    """The first head recorded in ``document`` that the log no longer holds unchanged."""
    problem = _signature_problem(vault, document)
    if problem:
        return Problem(OPERATOR, 0, problem)
    for head in document["heads"]:
        if tenant_id is not None and head["tenant"] != tenant_id:
            continue
        stored = conn.scalar(
            select(audit_log.c.hash).where(
                audit_log.c.tenant_id == head["tenant"], audit_log.c.seq == head["seq"]
            )
        )
        if stored != head["hash"]:
            when = document["created_at"]
            message = f"was in the checkpoint of {when} and is missing or changed since"
            return Problem(head["tenant"], head["seq"], message)
    return None
