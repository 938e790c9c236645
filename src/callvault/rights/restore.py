"""After a backup of the data database is restored: erase again whom the tombstones name (Art. 17).

The key store is not restored with the data (it lives apart), so its tombstones still say which
subjects were erased since the backup was taken; each one found is erased again with the same
set-based erasure, completing its request (or recording it again when the backup predates it).

A tombstone whose request the restored database holds as closed (cancelled, refused, or completed)
does not stop the others: the subject is erased again all the same and the closed request is left as
it is, the re-erasure audited under it. Why erase again: the key store is written only once the
erasure was decided on a verified, open request, and a restore must not bring back a person the
controller was obliged to erase (Art. 17(1), 5(1)(e)); a request state is a record of the past and
cannot move once final (Art. 12(3)), so it is not rewritten.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, select

from callvault.rights.erasure import erase_rows, flush_pages
from callvault.rights.identity import Verification
from callvault.rights.requests import OPEN_STATES, request_for
from callvault.rights.tombstones import marked_subjects
from callvault.store.schema.requests import subject_requests
from callvault.subjects.actors import check_actor
from callvault.tenants import list_tenants
from callvault.vault import Vault


@dataclass(frozen=True)
class Reapplied:
    """Per tenant, the subjects erased again and the requests they answer."""

    erased: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(len(items) for items in self.erased.values())

    def as_dict(self) -> dict[str, Any]:
        return {"erased_again": self.total, "tenants": self.erased}


def reapply_erasures(vault: Vault, *, actor: str = "operator") -> Reapplied:
    """Erase again every subject a tombstone marks (run it after restoring a backup)."""
    check_actor(actor)
    with vault.engine.connect() as conn:
        tenants = [t.id for t in list_tenants(conn)]
    result: dict[str, list[dict[str, Any]]] = {}
    for tenant_id in tenants:
        held = vault.keyring.keystore.tombstones(tenant_id)
        if not held:
            continue
        with vault.engine.connect() as conn:
            targets = marked_subjects(vault, conn, tenant_id, held)
        for subject_id, request_id in sorted(targets.items()):
            done = reapply_one(vault, tenant_id, subject_id, request_id, actor=actor)
            result.setdefault(tenant_id, []).append(done)
    flush_pages(vault)
    return Reapplied(result)


def reapply_one(
    vault: Vault, tenant_id: str, subject_id: str, request_id: str, *, actor: str
) -> dict[str, Any]:
    """Erase one restored subject again, answering its request (recorded anew if the backup
    predates it: the key store's tombstone is the proof it was verified then)."""
    with vault.transaction() as conn:
        closed = _closed_state(conn, tenant_id, request_id)
        if closed is None:
            rid = request_for(vault, conn, tenant_id, subject_id, "erasure", actor=actor,
                              verification=Verification("operator", by=actor),
                              request_id=request_id, reuse=True)  # fmt: skip
        else:
            rid = request_id
        done = erase_rows(vault, conn, tenant_id, subject_id, rid, actor=actor,
                          complete=closed is None)  # fmt: skip
    found = {"subject": subject_id, "request": rid, "erased": done.counts}
    return found if closed is None else {**found, "request_state": closed}


def _closed_state(conn: Connection, tenant_id: str, request_id: str) -> str | None:
    """The state of the tombstone's request when the database holds it closed; None when it is
    open or absent (a backup older than the request)."""
    t = subject_requests.c
    state = conn.scalar(select(t.state).where(t.tenant_id == tenant_id,
                                              t.request_id == request_id))  # fmt: skip
    return None if state is None or state in OPEN_STATES else str(state)
