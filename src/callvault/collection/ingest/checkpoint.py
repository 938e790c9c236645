"""The checkpoint of a followed source: how far it was read, stored with what was read.

A follow stores each batch of records and moves the checkpoint past them in one transaction
(:func:`save` is called inside it), so after a kill the restart resumes exactly where the last
committed batch ended: nothing is lost and nothing is stored twice.
"""

from __future__ import annotations

import hashlib
import os
from typing import Any

from sqlalchemy import Connection, select

from callvault.clock import utcnow
from callvault.store.schema.follow import follow_checkpoints


def source_id(format: str, source: str) -> str:
    """The key of a source: a hash of its format and path (made absolute) or URL.

    Hashed because a database URL may carry a password, which must never be stored.
    """
    where = source if "://" in source else os.path.realpath(source)
    return hashlib.sha256(f"{format}\x1f{where}".encode()).hexdigest()[:32]


def load(conn: Connection, tenant_id: str, source: str) -> dict[str, Any] | None:
    """The stored position of ``source`` (a :func:`source_id`), or None before its first batch."""
    query = select(follow_checkpoints.c.position).where(
        follow_checkpoints.c.tenant_id == tenant_id, follow_checkpoints.c.source_id == source
    )
    position = conn.execute(query).scalar_one_or_none()
    return dict(position) if position is not None else None


def save(
    conn: Connection, tenant_id: str, source: str, format: str, position: dict[str, Any]
) -> None:
    """Move the checkpoint of ``source`` to ``position``, in the caller's transaction."""
    key = (follow_checkpoints.c.tenant_id == tenant_id) & (follow_checkpoints.c.source_id == source)
    values = {"position": position, "updated_at": utcnow(), "format": format}
    if conn.execute(follow_checkpoints.update().where(key).values(**values)).rowcount == 0:
        conn.execute(
            follow_checkpoints.insert().values(tenant_id=tenant_id, source_id=source, **values)
        )


__all__ = ["load", "save", "source_id"]
