"""Call records through the collection gate: every format, dedup, no partial writes, no clear text."""

import json
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import select

import callvault.collection.ingest.calls as calls_ingest
from callvault import InvalidInput, PolicyRefusal, Vault, ingest_calls
from callvault.accountability.audit import entries
from callvault.store.schema.core import calls
from clihelp import run_cli
from ingesthelp import SAMPLES, SECRETS, count, dump, externals, setup_acme, stream

# The samples are calls of 2026-11-02: judged as of 2026-12-01, so they never expire on arrival.
pytestmark = pytest.mark.usefixtures("samples_clock")


def _audit(vault):
    with vault.engine.connect() as conn:
        return list(entries(conn, "acme", action="collect.calls"))


def _rows(vault):
    with vault.engine.connect() as conn:
        return conn.execute(select(calls).order_by(calls.c.started_at)).all()


@pytest.mark.parametrize("fmt", sorted(SAMPLES))
def test_each_format_is_stored(vault, fmt):
    setup_acme(vault)
    text, n = SAMPLES[fmt]
    report = ingest_calls(vault, "acme", stream(text), format=fmt)
    assert (report.stored, report.duplicates, report.rejected) == (n, 0, 0)
    assert count(vault) == n
    assert all(r.caller_subject_id and r.callee_subject_id for r in _rows(vault))


def test_asterisk_directions_outcomes_and_legs(vault):
    alice, _ = setup_acme(vault)
    ingest_calls(vault, "acme", stream(SAMPLES["asterisk-csv"][0]), format="asterisk-csv")
    first, second, third = _rows(vault)
    assert [r.direction for r in (first, second, third)] == ["outbound", "outbound", "inbound"]
    assert [r.outcome for r in (first, second, third)] == ["answered", "no_answer", "no_answer"]
    assert first.answered_at is not None and second.answered_at is None
    assert first.linked_key == second.linked_key != third.linked_key  # two legs of one call
    assert first.caller_subject_id == alice == third.callee_subject_id
    assert first.callee_subject_id == second.callee_subject_id  # one external subject per number
    assert first.started_at.isoformat() == "2026-11-02T09:00:00+00:00"  # Copenhagen local time
    assert externals(vault) == 2


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)  # a session time zone is PG's
def test_stored_times_do_not_depend_on_the_session_time_zone(db_url, master_key, monkeypatch):
    """PostgreSQL's COPY takes aware datetimes as timestamptz (bulk.time_encoder): the columns must
    hold naive UTC whatever the session's TimeZone (PGTZ sets it for libpq's connections)."""
    monkeypatch.setenv("PGTZ", "America/New_York")
    vault = Vault.open(db_url, master_key=master_key)
    try:
        setup_acme(vault)
        ingest_calls(vault, "acme", stream(SAMPLES["asterisk-csv"][0]), format="asterisk-csv")
        with vault.engine.connect() as conn:
            started = conn.exec_driver_sql("SELECT min(started_at) FROM calls").scalar()
    finally:
        vault.close()
    assert str(started)[:19] == "2026-11-02 09:00:00"  # 10:00 in Copenhagen, as UTC


def test_internal_call_between_users(vault):
    alice, bob = setup_acme(vault)
    ingest_calls(vault, "acme", stream(SAMPLES["jsonl"][0]), format="jsonl")
    [row] = _rows(vault)
    assert (row.direction, row.caller_subject_id, row.callee_subject_id) == ("internal", alice, bob)
    assert externals(vault) == 0


def test_free_text_is_dropped_and_counted(vault):
    setup_acme(vault)
    report = ingest_calls(vault, "acme", stream(SAMPLES["asterisk-csv"][0]), format="asterisk-csv")
    for field in ("clid", "channel", "dstchannel", "lastdata", "userfield", "caller_name"):
        assert report.dropped_fields[field] == 3
    [entry] = _audit(vault)
    assert entry["details"]["stored"] == 3 and entry["details"]["dropped_fields"]["clid"] == 3


def test_no_identifier_is_stored_in_clear(vault):
    setup_acme(vault)
    for fmt, (text, _) in SAMPLES.items():
        ingest_calls(vault, "acme", stream(text), format=fmt)
    raw = dump(vault)
    assert b"from-internal" not in raw and b"PJSIP" not in raw
    for secret in SECRETS:
        assert secret.encode() not in raw, secret


def test_reingest_stores_nothing_twice(vault):
    setup_acme(vault)
    text = SAMPLES["asterisk-csv"][0]
    ingest_calls(vault, "acme", stream(text), format="asterisk-csv")
    again = ingest_calls(vault, "acme", stream(text + text), format="asterisk-csv")
    assert (again.stored, again.duplicates) == (0, 6)
    assert count(vault) == 3 and externals(vault) == 2


def test_a_record_repeated_in_a_later_batch_is_stored_once(vault, monkeypatch):
    """Batches of two: the repeats of the first batch's records come in the second and third.
    An earlier batch's rows are not committed yet, so this ingest's own keys are asked about
    apart from what was stored before it (on PostgreSQL through a Bloom filter): one it missed
    would fail the ingest on the unique source key."""
    monkeypatch.setattr(calls_ingest, "BATCH", 2)
    setup_acme(vault)
    text = SAMPLES["asterisk-csv"][0]
    report = ingest_calls(vault, "acme", stream(text + text), format="asterisk-csv")
    assert (report.stored, report.duplicates) == (3, 3)
    assert count(vault) == 3 and externals(vault) == 2
    again = ingest_calls(vault, "acme", stream(text), format="asterisk-csv")
    assert (again.stored, again.duplicates) == (0, 3)  # held before this ingest


def test_a_bad_row_rejects_the_whole_file(vault):
    setup_acme(vault)
    text = SAMPLES["asterisk-csv"][0] + '"","201","202","x","","","","","","bad-time"\n'
    with pytest.raises(InvalidInput, match="line 4") as caught:
        ingest_calls(vault, "acme", stream(text), format="asterisk-csv")
    assert caught.value.line == 4
    assert count(vault) == 0 and externals(vault) == 0


def test_skip_stores_the_rest_and_writes_the_rejects(vault, tmp_path):
    setup_acme(vault)
    source = tmp_path / "Master.csv"
    source.write_text("garbage,row\n" + SAMPLES["asterisk-csv"][0])
    report = ingest_calls(vault, "acme", source, format="asterisk-csv", on_error="skip")
    assert (report.stored, report.rejected) == (3, 1)
    [reject] = [
        json.loads(line) for line in (tmp_path / "Master.csv.rejects").read_text().splitlines()
    ]
    assert reject == {"line": 1, "pointer": None, "reason": reject["reason"]}  # no row, no value
    assert "columns" in reject["reason"]


def test_refused_without_call_history(vault):
    setup_acme(vault, collect=["name", "phone"])
    with pytest.raises(PolicyRefusal):
        ingest_calls(vault, "acme", stream(SAMPLES["jsonl"][0]), format="jsonl")
    assert count(vault) == 0
    [entry] = _audit(vault)
    assert entry["outcome"] == "deny"


def test_without_phone_numbers_parties_are_not_stored(vault):
    setup_acme(vault, collect=["name", "call_history"])
    ingest_calls(vault, "acme", stream(SAMPLES["asterisk-csv"][0]), format="asterisk-csv")
    assert count(vault) == 3 and externals(vault) == 0
    first, _, third = _rows(vault)
    assert first.callee_subject_id is None and third.caller_subject_id is None  # the externals


def test_cli_json_and_tenant_counts(vault, cli_env, capsys):
    setup_acme(vault)
    (cli_env / "cdr.jsonl").write_text(SAMPLES["jsonl"][0])
    result = run_cli(capsys, "ingest", "calls", "--tenant", "acme", "--format", "jsonl",
                     "cdr.jsonl", "--json")  # fmt: skip
    assert result.code == 0, result.err
    assert result.json() == {"stored": 1, "duplicates": 0, "rejected": 0, "unparsed_numbers": 0,
                             "expired_on_arrival": 0,
                             "dropped_fields": {"caller_name": 1, "other": 1}}  # fmt: skip
    shown = run_cli(capsys, "tenant", "show", "acme", "--json").json()
    assert shown["counts"]["calls"] == 1 and shown["counts"]["subjects"] == 2


def test_cli_exit_codes(vault, cli_env, capsys):
    setup_acme(vault, collect=["name", "phone"])
    (cli_env / "cdr.jsonl").write_text(SAMPLES["jsonl"][0] + "{}\n")
    args = ["ingest", "calls", "--tenant", "acme", "--format", "jsonl", "cdr.jsonl"]
    assert run_cli(capsys, *args).code == 3
    assert run_cli(capsys, *args[:-1], "missing.jsonl").code == 2


def test_concurrent_ingests_of_one_file_store_it_once(vault):
    setup_acme(vault)
    text = SAMPLES["asterisk-csv"][0]
    with ThreadPoolExecutor(2) as pool:
        reports = list(
            pool.map(
                lambda _: ingest_calls(vault, "acme", stream(text), format="asterisk-csv"), [1, 2]
            )
        )
    assert sorted((r.stored, r.duplicates) for r in reports) == [(0, 3), (3, 0)]
    assert count(vault) == 3 and externals(vault) == 2


def test_an_in_memory_sqlite_vault_ingests_in_its_own_thread(master_key):
    # Its connection may be used by its own thread only: the batches are written at once there,
    # not behind by a worker.
    memory = Vault.open("sqlite://", master_key=master_key, create=True)
    try:
        setup_acme(memory)
        text, n = SAMPLES["asterisk-csv"]
        assert ingest_calls(memory, "acme", stream(text), format="asterisk-csv").stored == n
        assert count(memory) == n
    finally:
        memory.close()
