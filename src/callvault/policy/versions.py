"""Policy versions stored in the vault: loading a new one keeps every old one (Art. 5(2), Art. 7(1)).

The policy in force is the newest stored version; a vault with none uses ``CALLVAULT_POLICY`` or the
default policy. Old versions stay so that a consent record, an audit entry or a deletion certificate
can always be read against the policy it was made under. A version is refused when its lint reports an
error: an unlawful policy is never put in force.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, func, insert, select
from sqlalchemy.exc import DBAPIError

from callvault.clock import utcnow
from callvault.errors import InvalidInput, PolicyInvalid
from callvault.policy import CompiledPolicy, Policy, parse_policy
from callvault.store.audit_chain import OPERATOR, AuditEntry
from callvault.store.schema.consent import policy_versions
from callvault.subjects.actors import check_actor

if TYPE_CHECKING:
    from callvault.vault import Vault


@dataclass(frozen=True)
class PolicyVersion:
    seq: int
    version: str
    digest: str
    loaded_at: datetime
    loaded_by: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "version": self.version,
            "digest": self.digest,
            "loaded_at": self.loaded_at.isoformat(),
            "loaded_by": self.loaded_by,
        }


def changed_purposes(old: CompiledPolicy, new: CompiledPolicy) -> list[str]:
    """Purposes of ``new`` whose text, categories or basis differ from ``old`` (or are new): consent
    given for them before no longer covers them (Art. 7(1))."""
    return sorted(
        name
        for name, purpose in new.purposes.items()
        if name not in old.purposes or old.purposes[name].fingerprint != purpose.fingerprint
    )


def _newest_document(conn: Connection) -> str | None:
    return conn.scalar(
        select(policy_versions.c.document)
        .where(policy_versions.c.tenant_id == OPERATOR)
        .order_by(policy_versions.c.seq.desc())
        .limit(1)
    )


def stored_policy(engine: Engine) -> Policy | None:
    """The newest stored policy version, or None (no version loaded, or a vault not yet created)."""
    database = engine.url.database
    on_disk = engine.dialect.name == "sqlite" and database and database != ":memory:"
    if on_disk and not Path(str(database)).exists():
        return None  # do not create an empty database file just by looking
    try:
        with engine.connect() as conn:
            text = _newest_document(conn)
    except DBAPIError:  # not migrated yet: the table does not exist
        return None
    return parse_policy(text, source="stored policy") if text else None


def list_versions(conn: Connection) -> list[PolicyVersion]:
    rows = conn.execute(
        select(policy_versions)
        .where(policy_versions.c.tenant_id == OPERATOR)
        .order_by(policy_versions.c.seq)
    ).all()
    return [PolicyVersion(r.seq, r.version, r.digest, r.loaded_at, r.loaded_by) for r in rows]


def version_document(conn: Connection, version: str) -> Policy:
    """A stored version by its version string (to read old consents against their policy)."""
    text = conn.scalar(
        select(policy_versions.c.document).where(
            policy_versions.c.tenant_id == OPERATOR, policy_versions.c.version == version
        )
    )
    if text is None:
        raise InvalidInput(f"no stored policy version {version!r}", pointer="version")
    return parse_policy(text, source=f"policy version {version}")


def _refuse_if_unlawful(text: str, source: str) -> None:
    from callvault.policy.lint import (
        lint_text,  # the linter imports the loader; keep imports one-way
    )

    report = lint_text(text, source=source)
    if report.errors:
        raise PolicyInvalid(
            f"{source}: policy check reports {len(report.errors)} error(s); not loaded: "
            + "; ".join(f"{f.article}: {f.message}" for f in report.errors),
            errors=[f.as_dict() for f in report.errors],
        )


def load_version(vault: Vault, text: str, *, source: str, actor: str = "operator") -> PolicyVersion:
    """Store ``text`` as the newest policy version and put it in force in ``vault``.

    Loading the same document again changes nothing; a new document under a version string that is
    already stored is refused (a version names one text forever).
    """
    check_actor(actor)
    policy = parse_policy(text, source=source)
    compiled = CompiledPolicy.compile(policy)
    _refuse_if_unlawful(text, source)
    with vault.transaction() as conn:
        versions = list_versions(conn)
        same = [v for v in versions if v.version == policy.version]
        if same and same[0].digest != compiled.digest:
            raise InvalidInput(
                f"policy version {policy.version} is already stored with other content; "
                "give the new document a new version",
                pointer="version",
            )
        if same and same[0] is not versions[-1]:
            raise InvalidInput(
                f"policy version {policy.version} is older than the version in force; "
                "give it a new version to put it in force again",
                pointer="version",
            )
        if not same:
            changed = changed_purposes(vault.policy, compiled)
            same = [_insert(vault, conn, policy.version, compiled.digest, text, actor, changed)]
    vault.policy = compiled
    return same[0]


def _insert(
    vault: Vault,
    conn: Connection,
    version: str,
    digest: str,
    text: str,
    actor: str,
    changed: list[str],
) -> PolicyVersion:
    seq = (
        conn.scalar(
            select(func.coalesce(func.max(policy_versions.c.seq), 0)).where(
                policy_versions.c.tenant_id == OPERATOR
            )
        )
        or 0
    ) + 1
    row = PolicyVersion(seq, version, digest, utcnow(), actor)
    conn.execute(
        insert(policy_versions),
        [{"tenant_id": OPERATOR, "document": text, **asdict(row)}],
    )
    vault.audit(
        conn,
        OPERATOR,
        AuditEntry(
            actor=actor,
            action="policy.load",
            details={
                "version": version,
                "digest": digest,
                "seq": seq,
                "changed_purposes": changed,
            },
        ),
    )
    return row
