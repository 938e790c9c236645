"""Kamailio accounting (``kamailio-acc``): CSV exports and Kamailio's own database, one-off and
followed; Call-IDs, tags, IPs and domains never stored."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from callvault import InvalidInput, follow_calls, ingest_calls
from callvault.store.schema.core import calls
from callvault.store.schema.follow import follow_checkpoints
from clihelp import run_cli
from conftest import _pg_database
from ingesthelp import count, dump, externals, setup_acme, stream
from kamailiohelp import SECRETS, cdr, create, insert, missed

# The records are calls of 2026-11-02: judged as of 2026-12-01, so they never expire on arrival.
pytestmark = pytest.mark.usefixtures("samples_clock")

MISSED_CSV = (
    "id,method,from_tag,to_tag,callid,sip_code,sip_reason,time,src_user,src_domain,src_ip,"
    "dst_ouser,dst_user,dst_domain\n"
    "1,INVITE,fromtag1928301774,a1,c1@atlanta.example.com,486,Busy Here,2026-11-02 10:00:00,"
    "+4550505050,atlanta.example.com,192.0.2.101,201,201,acme.example\n"
    "2,INVITE,1928301775,,c2@atlanta.example.com,487,Request Terminated,2026-11-02 10:05:00,"
    "+4550505050,atlanta.example.com,192.0.2.101,201,201,acme.example\n"
    "3,INVITE,1928301776,,c3@atlanta.example.com,480,Temporarily Unavailable,"
    "2026-11-02 10:10:00,201,acme.example,192.0.2.7,+4540404040,+4540404040,pstn.example\n"
    "4,INVITE,1928301777,,c4@atlanta.example.com,503,Service Unavailable,2026-11-02 10:15:00,"
    "201,acme.example,192.0.2.7,202,202,acme.example\n"
)
ACC_CSV = (
    "id,method,from_tag,to_tag,callid,sip_code,sip_reason,time,src_user,src_domain,src_ip,"
    "dst_ouser,dst_user,dst_domain\n"
    "7,INVITE,fromtag1928301774,kq83x7tag,c9@atlanta.example.com,200,OK,2026-11-02 11:00:00,"
    "201,acme.example,192.0.2.7,+4540404040,+4540404040,pstn.example\n"
    "8,BYE,fromtag1928301774,kq83x7tag,c9@atlanta.example.com,200,OK,2026-11-02 11:03:20,"
    "201,acme.example,192.0.2.7,+4540404040,+4540404040,pstn.example\n"
)


def _rows(vault):  # type: ignore[no-untyped-def]
    with vault.engine.connect() as conn:
        return conn.execute(select(calls).order_by(calls.c.started_at)).all()


def test_missed_calls_export_outcomes_and_directions(vault):
    alice, bob = setup_acme(vault)
    report = ingest_calls(vault, "acme", stream(MISSED_CSV), format="kamailio-acc")
    assert (report.stored, report.rejected) == (4, 0)
    rows = _rows(vault)
    assert [r.outcome for r in rows] == ["busy", "no_answer", "no_answer", "failed"]
    assert [r.direction for r in rows] == ["inbound", "inbound", "outbound", "internal"]
    assert rows[0].callee_subject_id == alice and rows[3].callee_subject_id == bob
    assert all(r.duration_s == 0 and r.answered_at is None for r in rows)
    assert rows[0].started_at.isoformat() == "2026-11-02T09:00:00+00:00"  # local time, --tz
    for field in ("callid", "from_tag", "to_tag", "src_ip", "src_domain", "sip_reason", "method"):
        assert report.dropped_fields[field] == 4, field


def test_transactions_of_answered_calls_are_not_calls(vault):
    setup_acme(vault)
    report = ingest_calls(vault, "acme", stream(ACC_CSV), format="kamailio-acc")
    assert (report.stored, report.rejected, count(vault)) == (0, 0, 0)


def test_bad_row_names_line_and_field_never_the_value(vault, tmp_path):
    setup_acme(vault)
    bad = MISSED_CSV.replace("486,Busy Here,2026-11-02 10:00:00", "486,Busy Here,+4599887766")
    with pytest.raises(InvalidInput) as caught:
        ingest_calls(vault, "acme", stream(bad), format="kamailio-acc")
    assert caught.value.line == 2 and "time" in str(caught.value)
    assert "4599887766" not in str(caught.value) and count(vault) == 0


def test_unknown_header_is_refused(vault):
    setup_acme(vault)
    with pytest.raises(InvalidInput) as caught:
        ingest_calls(vault, "acme", stream("a,b\n1,2\n"), format="kamailio-acc")
    assert caught.value.line == 1


@pytest.fixture
def kamailio_url(db_url, tmp_path):  # type: ignore[no-untyped-def]
    """Kamailio's database on the same backend as the vault under test."""
    if db_url.startswith("sqlite"):
        url = f"sqlite:///{tmp_path / 'kamailio.db'}"
        create(url)
        yield url
        return
    for url in _pg_database("kamailio"):
        create(url)
        yield url


def test_database_one_off_and_followed_exactly_once(vault, kamailio_url):
    alice, _ = setup_acme(vault)
    insert(kamailio_url, "missed_calls", [missed(1, "486"), missed(2, "487")])
    insert(kamailio_url, "acc_cdrs", [cdr(3, 42.6), cdr(4, 5.0, src="202", dst="201")])
    first = follow_calls(vault, "acme", kamailio_url, format="kamailio-acc", until_idle=0)
    assert (first.stored, first.duplicates, first.rejected) == (4, 0, 0)
    answered = [r for r in _rows(vault) if r.outcome == "answered"]
    assert [(r.duration_s, r.billsec_s, r.direction) for r in answered] == [
        (43, 43, "outbound"), (5, 5, "internal")
    ]  # fmt: skip
    assert answered[0].caller_subject_id == alice and answered[0].answered_at is not None
    insert(kamailio_url, "missed_calls", [missed(5, "408")])
    again = follow_calls(vault, "acme", kamailio_url, format="kamailio-acc", until_idle=0)
    assert (again.stored, again.duplicates) == (1, 0)  # only the new row was read
    with vault.engine.connect() as conn:
        [position] = conn.execute(select(follow_checkpoints.c.position)).scalars().all()
    assert position == {"acc": 0, "missed_calls": 3, "acc_cdrs": 2}
    once = ingest_calls(vault, "acme", kamailio_url, format="kamailio-acc")
    assert (once.stored, once.duplicates, count(vault)) == (0, 5, 5)
    assert externals(vault) == 2
    raw = dump(vault)
    for secret in SECRETS:
        assert secret.encode() not in raw, secret


def test_follow_cli_reads_database_and_skips_bad_rows(vault, kamailio_url, cli_env, capsys):
    setup_acme(vault)
    insert(kamailio_url, "missed_calls", [missed(1, "486"), missed(2, "4x6")])
    rejects = cli_env / "kamailio.rejects"
    result = run_cli(
        capsys, "ingest", "calls", "--tenant", "acme", "--format", "kamailio-acc", "--json",
        "--follow", kamailio_url, "--until-idle", "0", "--rejects", str(rejects),
    )  # fmt: skip
    assert result.code == 0, result.err
    assert result.json()["stored"] == 1 and result.json()["rejected"] == 1
    [line] = rejects.read_text().splitlines()
    assert json.loads(line) == {
        "line": None, "pointer": "/missed_calls/2",
        "reason": "sip_code is not a three-digit SIP status code",
    }  # fmt: skip


def test_db_sqlite_julian_days_are_utc_instants(vault):
    """db_sqlite binds DATETIME as a Julian day number: a UTC instant whatever --tz says."""
    setup_acme(vault)
    text = (
        "id,start_time,end_time,duration,src_user,dst_user,callid\n"
        "1,2461346.91666088,2461346.91779977,98.402,201,+4540404040,x@h\n"
    )  # 2026-11-02 10:00:00Z .. 10:01:38Z
    ingest_calls(vault, "acme", stream(text), format="kamailio-acc", tz="America/New_York")
    [row] = _rows(vault)
    assert row.started_at.isoformat() == "2026-11-02T10:00:00+00:00"
    assert (row.ended_at - row.started_at).total_seconds() == 98 and row.duration_s == 98


def test_a_missing_row_id_is_waited_for(vault, kamailio_url, monkeypatch):
    """PostgreSQL ids are taken at insert, not commit: row 3 may show before row 2 does."""
    from callvault.collection.ingest import follow

    setup_acme(vault)
    rows = [missed(n, "486") | {"id": n} for n in (1, 3)]
    insert(kamailio_url, "missed_calls", rows)
    first = follow_calls(vault, "acme", kamailio_url, format="kamailio-acc", until_idle=0)
    assert first.stored == 1  # row 3 waits for row 2
    insert(kamailio_url, "missed_calls", [missed(2, "486") | {"id": 2}])
    second = follow_calls(vault, "acme", kamailio_url, format="kamailio-acc", until_idle=0)
    assert second.stored == 2
    insert(kamailio_url, "missed_calls", [missed(5, "486") | {"id": 5}])  # 4 rolled back
    monkeypatch.setattr(follow, "GAP_WAIT", 0.0)
    third = follow_calls(vault, "acme", kamailio_url, format="kamailio-acc", until_idle=0)
    assert third.stored == 1 and count(vault) == 4
