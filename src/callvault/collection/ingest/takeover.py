"""A directory user taking over a number first seen as an external caller.

Calls and voicemail from before the directory knew the number point to an *external* subject. When
a user's directory entry claims that number (or extension) from a date (``number_since``), the
records from that date on are the user's: they follow, or access (Art. 15) and erasure (Art. 17)
for the user would miss them. Records from *before* that date belong to whoever held the number
then, a recycled number's previous holder: they stay with the external subject, its caller shares
are not re-sealed for the user, and the user never sees them (Art. 5(1)(d), Art. 15(4)). So, in the
ingest's transaction: repoint the parties of the records from the date on (set-based UPDATEs),
recompute the direction of the touched calls, and crypto-shred each external subject that has
nothing left.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    ColumnElement,
    Connection,
    and_,
    bindparam,
    case,
    exists,
    or_,
    select,
    update,
)

from callvault.collection.ingest.voicemail_audio import move_caller_shares
from callvault.store.schema.core import (
    audit_log,
    calls,
    metadata,
    subject_identifiers,
    subjects,
    voicemails,
)
from callvault.subjects.directory import shred_subjects
from callvault.vault import Vault

_CHUNK = 1_000
_PARTIES = ((calls, "caller_subject_id", "started_at"), (calls, "callee_subject_id", "started_at"),
            (voicemails, "caller_subject_id", "received_at"))  # fmt: skip
_NOT_REFERENCES = {subjects.name, subject_identifiers.name, audit_log.name}


def take_over(
    vault: Vault, conn: Connection, tenant_id: str, moves: dict[str, tuple[str, datetime]]
) -> None:
    """Move the records of external subjects to users from a date: ``moves`` maps external ->
    (user id, since); records before ``since`` stay with the external, the previous holder."""
    if not moves:
        return
    move_caller_shares(vault, conn, tenant_id, moves)  # before the externals' keys are shredded
    pairs = [
        {"t": tenant_id, "e": external, "u": user, "s": since}
        for external, (user, since) in moves.items()
    ]
    for table, column, moment in _PARTIES:
        col = table.c[column]
        conn.execute(
            update(table)
            .where(table.c.tenant_id == bindparam("t"), col == bindparam("e"))
            .where(table.c[moment] >= bindparam("s", type_=table.c[moment].type))
            .values({column: bindparam("u")}),
            pairs,
        )
    users = sorted({user for user, _ in moves.values()})
    for start in range(0, len(users), _CHUNK):
        _redirect(conn, tenant_id, users[start : start + _CHUNK])
    unused = _unreferenced(conn, tenant_id, list(moves))
    if unused:
        shred_subjects(vault, conn, tenant_id, unused)


def _is_user(column: ColumnElement[str]) -> ColumnElement[bool]:
    s = subjects.c
    return exists().where(s.tenant_id == calls.c.tenant_id, s.subject_id == column,
                          s.kind == "user")  # fmt: skip


def _redirect(conn: Connection, tenant_id: str, users: list[str]) -> None:
    """Direction as at ingest (calls_ingest.direction): internal, outbound, else inbound."""
    c = calls.c
    caller_user, callee_user = _is_user(c.caller_subject_id), _is_user(c.callee_subject_id)
    direction = case(
        (and_(caller_user, callee_user), "internal"), (caller_user, "outbound"), else_="inbound"
    )
    conn.execute(
        update(calls)
        .where(
            c.tenant_id == tenant_id,
            or_(c.caller_subject_id.in_(users), c.callee_subject_id.in_(users)),
            c.direction != direction,
        )
        .values(direction=direction)
    )


def _unreferenced(conn: Connection, tenant_id: str, externals: list[str]) -> list[str]:
    """The externals no row of any table refers to any more (the audit log holds ids only)."""
    left = set(externals)
    for table in metadata.sorted_tables:
        if table.name in _NOT_REFERENCES or "tenant_id" not in table.c:
            continue
        for column in table.c:
            if not column.name.endswith("subject_id") or not left:
                continue
            held = conn.scalars(
                select(column).where(table.c.tenant_id == tenant_id, column.in_(list(left)))
            )
            left -= set(held)
    if not left:
        return []
    # only external subjects (a user never is one); a previous holder keeps its number until then
    kept = conn.scalars(
        select(subjects.c.subject_id).where(
            subjects.c.tenant_id == tenant_id,
            subjects.c.subject_id.in_(list(left)),
            subjects.c.kind != "external",
        )
    )
    return sorted(left - set(kept))
