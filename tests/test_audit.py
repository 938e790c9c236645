"""The audit chain catches every kind of tampering, on both databases; checkpoints catch the rest."""

import hashlib
import json

import pytest
from sqlalchemy import delete, select, update

from callvault.accountability.audit import verify_audit
from callvault.accountability.checkpoint import make_checkpoint
from callvault.store.audit_chain import OPERATOR, AuditEntry
from callvault.store.schema.core import audit_heads, audit_log
from clihelp import run_cli
from factories import make_tenant


def _write(vault, n=4, tenant="acme"):
    with vault.transaction() as conn:
        for i in range(n):
            vault.audit(conn, tenant, AuditEntry(actor="t", action=f"act{i}", details={"n": i}))


def _verify(vault, tenant=None, checkpoint=None):
    return verify_audit(vault, tenant, checkpoint=checkpoint)


def test_intact_chain_verifies(vault):
    _write(vault)
    report = _verify(vault)
    assert report.ok and report.checked == 4 + 1  # and the operator's vault.create
    assert report.chains == 2


def _plain_sha256(row):  # type: ignore[no-untyped-def]
    """The chain's old digest: what someone without the audit key can recompute."""
    material = {k: row[k] for k in ("tenant_id", "seq", "actor", "action", "purpose",
                                    "legal_basis", "subject_id", "outcome", "reason",
                                    "details", "prev_hash")}  # fmt: skip
    material["at"] = row["at"].isoformat(timespec="microseconds")
    material["categories"] = list(row["categories"])
    canonical = json.dumps(material, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def test_a_rewritten_entry_with_recomputed_hashes_and_head_is_caught(vault):
    """The review's forgery: edit an entry, recompute its hash and every later one and the head."""
    _write(vault)
    with vault.transaction() as conn:
        rows = [dict(r._mapping) for r in conn.execute(
            select(audit_log).where(audit_log.c.tenant_id == "acme").order_by(audit_log.c.seq))]  # fmt: skip
        rows[1]["reason"] = "forged"
        prev = rows[0]["hash"]
        for row in rows[1:]:
            row["prev_hash"] = prev
            row["hash"] = prev = _plain_sha256(row)
            conn.execute(update(audit_log).where(audit_log.c.tenant_id == "acme",
                                                 audit_log.c.seq == row["seq"])
                         .values(reason=row["reason"], prev_hash=row["prev_hash"],
                                 hash=row["hash"]))  # fmt: skip
        conn.execute(update(audit_heads).where(audit_heads.c.tenant_id == "acme").values(hash=prev))
    report = _verify(vault)
    assert not report.ok and report.problem.seq == 2 and "modified" in report.problem.message


def test_removing_the_operator_chain_is_caught(vault):
    _write(vault)
    with vault.transaction() as conn:
        conn.execute(delete(audit_log).where(audit_log.c.tenant_id == OPERATOR))
        conn.execute(delete(audit_heads).where(audit_heads.c.tenant_id == OPERATOR))
    report = _verify(vault)
    assert not report.ok and report.problem.tenant_id == OPERATOR


def test_an_edited_head_is_caught(vault):
    _write(vault)
    with vault.transaction() as conn:
        conn.execute(update(audit_heads).where(audit_heads.c.tenant_id == "acme").values(seq=9))
    assert not _verify(vault).ok


def test_a_truncated_tail_is_caught_against_a_checkpoint(vault):
    _write(vault)
    checkpoint = make_checkpoint(vault)
    assert _verify(vault, checkpoint=checkpoint).ok
    with vault.transaction() as conn:  # cut entries 3-4 and move the head back: chain still links
        kept = conn.execute(select(audit_log.c.hash).where(
            audit_log.c.tenant_id == "acme", audit_log.c.seq == 2)).scalar_one()  # fmt: skip
        conn.execute(delete(audit_log).where(audit_log.c.tenant_id == "acme", audit_log.c.seq > 2))
        conn.execute(update(audit_heads).where(audit_heads.c.tenant_id == "acme")
                     .values(seq=2, hash=kept))  # fmt: skip
    assert _verify(vault).ok  # without a checkpoint a clean cut cannot be seen...
    report = _verify(vault, checkpoint=checkpoint)
    assert not report.ok and report.problem.tenant_id == "acme" and report.problem.seq == 4


def test_a_forged_checkpoint_fails_its_signature(vault):
    _write(vault)
    checkpoint = make_checkpoint(vault)
    forged = {**checkpoint, "heads": [h for h in checkpoint["heads"] if h["tenant"] != "acme"]}
    report = _verify(vault, checkpoint=forged)
    assert not report.ok and "signature" in report.problem.message


def test_cli_checkpoint_then_verify(vault, cli_env, capsys):
    _write(vault)
    result = run_cli(capsys, "audit", "checkpoint", "--out", "cp.json")
    assert result.code == 0 and "verification key" in result.out
    assert run_cli(capsys, "audit", "verify", "--checkpoint", "cp.json").code == 0
    assert run_cli(capsys, "audit", "checkpoint", "--out", "cp.json").code == 5  # never overwritten
    with vault.transaction() as conn:
        conn.execute(delete(audit_log).where(audit_log.c.tenant_id == "acme", audit_log.c.seq == 4))
        conn.execute(update(audit_heads).where(audit_heads.c.tenant_id == "acme").values(seq=3))
    assert run_cli(capsys, "audit", "verify", "--checkpoint", "cp.json").code == 6


@pytest.mark.parametrize("field", ["actor", "at"])
def test_any_edited_field_is_caught(vault, field):
    from datetime import UTC, datetime

    _write(vault)
    value = "mallory" if field == "actor" else datetime(2020, 1, 1, tzinfo=UTC)
    with vault.transaction() as conn:
        conn.execute(update(audit_log).where(audit_log.c.tenant_id == "acme",
                                             audit_log.c.seq == 3).values({field: value}))  # fmt: skip
    assert not _verify(vault).ok


def test_modified_entry_is_caught(vault):
    _write(vault)
    with vault.transaction() as conn:
        conn.execute(
            update(audit_log).where(audit_log.c.seq == 2).values(outcome="allow", reason="forged")
        )
    report = _verify(vault)
    assert not report.ok and report.problem.seq == 2
    assert "modified" in report.problem.message


def test_deleted_entry_is_caught(vault):
    _write(vault)
    with vault.transaction() as conn:
        conn.execute(delete(audit_log).where(audit_log.c.seq == 3))
    report = _verify(vault)
    assert not report.ok and report.problem.seq == 3


def test_deleted_newest_entry_is_caught(vault):
    _write(vault)
    with vault.transaction() as conn:
        conn.execute(delete(audit_log).where(audit_log.c.seq == 4))
    report = _verify(vault)
    assert not report.ok and "removed" in report.problem.message


def test_swapped_entries_are_caught(vault):
    _write(vault)
    with vault.transaction() as conn:
        rows = {
            r.seq: dict(r._mapping)
            for r in conn.execute(select(audit_log).where(audit_log.c.seq.in_([2, 3])))
        }
        for seq, other in ((2, 3), (3, 2)):
            values = {k: v for k, v in rows[other].items() if k not in ("tenant_id", "seq")}
            conn.execute(update(audit_log).where(audit_log.c.seq == seq).values(**values))
    report = _verify(vault)
    assert not report.ok and report.problem.seq == 2


def test_inserted_entry_is_caught(vault):
    _write(vault, n=2)
    with vault.transaction() as conn:
        row = dict(conn.execute(select(audit_log).where(audit_log.c.seq == 2)).one()._mapping)
        conn.execute(update(audit_log).where(audit_log.c.seq == 2).values(seq=3))
        row.update(action="forged")
        conn.execute(audit_log.insert(), [row])
    assert not _verify(vault).ok


def test_chains_are_per_tenant(vault):
    _write(vault, tenant="acme")
    _write(vault, tenant="globex")
    with vault.transaction() as conn:
        conn.execute(
            update(audit_log)
            .where(audit_log.c.tenant_id == "globex", audit_log.c.seq == 1)
            .values(actor="x")
        )
    assert _verify(vault, "acme").ok
    assert not _verify(vault, "globex").ok


def test_cli_verify_exits_6_naming_the_entry(vault, cli_env, capsys):
    _write(vault)
    assert run_cli(capsys, "audit", "verify").code == 0
    with vault.transaction() as conn:
        conn.execute(update(audit_log).where(audit_log.c.seq == 2).values(actor="mallory"))
    result = run_cli(capsys, "audit", "verify")
    assert result.code == 6
    assert "entry 2" in result.err


def test_cli_log_lists_entries_as_json(vault, cli_env, capsys):
    _write(vault, n=3)
    result = run_cli(capsys, "audit", "log", "--json", "--tenant", "acme")
    assert result.code == 0
    assert [e["seq"] for e in result.json()] == [3, 2, 1]


def test_removing_a_whole_tenant_chain_is_caught(vault):
    make_tenant(vault, "globex")
    with vault.transaction() as conn:
        conn.execute(delete(audit_log).where(audit_log.c.tenant_id == "globex"))
        conn.execute(delete(audit_heads).where(audit_heads.c.tenant_id == "globex"))
    report = _verify(vault)
    assert not report.ok and report.problem.tenant_id == "globex"


def test_verify_of_an_unknown_tenant_is_not_found(vault, cli_env, capsys):
    assert run_cli(capsys, "audit", "verify", "--tenant", "nobody").code == 4


def test_deleting_a_tenant_whole_is_caught(vault):
    """Review finding: removing a tenant's row, chain and head together must not verify."""
    from callvault.store.schema.core import tenants

    make_tenant(vault, "globex")
    with vault.transaction() as conn:
        conn.execute(delete(audit_log).where(audit_log.c.tenant_id == "globex"))
        conn.execute(delete(audit_heads).where(audit_heads.c.tenant_id == "globex"))
        conn.execute(delete(tenants).where(tenants.c.tenant_id == "globex"))
    report = _verify(vault)
    assert not report.ok and report.problem.tenant_id == "globex"
