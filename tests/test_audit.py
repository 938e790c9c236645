"""The audit chain catches every kind of tampering, on both databases."""

from sqlalchemy import delete, select, update

from callvault.accountability import audit
from callvault.store.audit_chain import AuditEntry, record
from callvault.store.schema.core import audit_heads, audit_log
from clihelp import run_cli
from factories import make_tenant


def _write(vault, n=4, tenant="acme"):
    with vault.transaction() as conn:
        for i in range(n):
            record(conn, tenant, AuditEntry(actor="t", action=f"act{i}", details={"n": i}))


def _verify(vault, tenant=None):
    with vault.engine.connect() as conn:
        return audit.verify(conn, tenant)


def test_intact_chain_verifies(vault):
    _write(vault)
    report = _verify(vault)
    assert report.ok and report.checked == 4


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
