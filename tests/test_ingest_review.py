"""Findings of the privacy review of the collection gate, each pinned by a test."""

import json
import stat

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from callvault import InvalidInput, ingest_calls, ingest_subjects
from callvault.accountability.audit import entries
from callvault.collection.parsers.records import MAX_SECONDS
from callvault.store.schema.core import calls, subjects, tenants
from clihelp import run_cli
from ingesthelp import JSONL, SAMPLES, count, externals, setup_acme, stream

# The samples are calls of 2026-11-02: judged as of 2026-12-01, so they never expire on arrival.
pytestmark = pytest.mark.usefixtures("samples_clock")


def test_rejects_file_made_private_even_when_it_existed(vault, tmp_path):
    setup_acme(vault)
    source, rejects = tmp_path / "Master.csv", tmp_path / "old.rejects"
    source.write_text("garbage,row\n" + SAMPLES["asterisk-csv"][0])
    rejects.write_text("stale\n" * 100)
    rejects.chmod(0o644)
    ingest_calls(vault, "acme", source, format="asterisk-csv", on_error="skip", rejects=rejects)
    assert stat.S_IMODE(rejects.stat().st_mode) == 0o600
    assert len(rejects.read_text().splitlines()) == 1


def test_personal_field_names_are_not_audited(vault):
    setup_acme(vault)
    row = json.loads(JSONL)
    row.update({"+4522334455": 1, "a@b.dk": "x"})
    report = ingest_calls(vault, "acme", stream(json.dumps(row) + "\n"), format="jsonl")
    assert report.as_dict()["dropped_fields"] == {"other": 3, "caller_name": 1}
    with vault.engine.connect() as conn:
        [entry] = entries(conn, "acme", action="collect.calls")
    text = json.dumps(entry, default=str)
    assert "4522334455" not in text and "a@b.dk" not in text


def test_user_taking_an_external_number_takes_its_calls(vault):
    _, bob = setup_acme(vault)
    call = json.loads(JSONL) | {"caller": "+4550505050", "callee": "202"}
    ingest_calls(vault, "acme", stream(json.dumps(call) + "\n"), format="jsonl")
    assert externals(vault) == 1
    # Carl has held the number since before the call: the call is his (a recycled number is not)
    directory = "external_id,name,phone,number_since\nu-9,Carl Caller,+45 50 50 50 50,2026-01-01\n"
    ingest_subjects(vault, "acme", stream(directory), format="csv")
    with vault.engine.connect() as conn:
        [row] = conn.execute(select(calls)).all()
        kinds = dict(conn.execute(select(subjects.c.subject_id, subjects.c.kind)).all())
    assert kinds[row.caller_subject_id] == "user" and row.callee_subject_id == bob
    assert row.direction == "internal"
    assert externals(vault) == 0  # shredded: nothing was left of it


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(duration=st.integers(), billsec=st.integers())
def test_any_integer_is_stored_or_rejected_never_a_crash(vault, duration, billsec):
    if count(vault, tenants) == 0:
        setup_acme(vault)
    row = json.loads(JSONL) | {"id": f"c-{duration}-{billsec}", "duration": duration,
                               "billsec": billsec}  # fmt: skip
    try:
        ingest_calls(vault, "acme", stream(json.dumps(row) + "\n"), format="jsonl")
    except InvalidInput as exc:
        assert exc.line == 1 and exc.pointer in ("/duration", "/billsec")
    with vault.engine.connect() as conn:
        held = conn.execute(select(calls.c.duration_s, calls.c.billsec_s)).all()
    assert all(0 <= b <= d <= MAX_SECONDS for d, b in held)


@pytest.mark.parametrize(
    ("change", "pointer"),
    [
        ({"duration": 99999999999999999999999}, "/duration"),
        ({"end": "2026-11-02T09:00:00+01:00"}, "/end"),
        ({"start": "9999-01-01T10:00:00+01:00"}, "/start"),
    ],
)
def test_impossible_values_reject_the_file(vault, change, pointer):
    setup_acme(vault)
    row = json.loads(JSONL) | change
    with pytest.raises(InvalidInput) as caught:
        ingest_calls(vault, "acme", stream(json.dumps(row) + "\n"), format="jsonl")
    assert (caught.value.line, caught.value.pointer) == (1, pointer)
    assert count(vault) == 0


def test_cli_huge_duration_is_exit_5_not_a_crash(vault, cli_env, capsys):
    setup_acme(vault)
    row = json.loads(JSONL) | {"duration": 99999999999999999999999}
    (cli_env / "cdr.jsonl").write_text(json.dumps(row) + "\n")
    result = run_cli(capsys, "ingest", "calls", "--tenant", "acme", "--format", "jsonl",
                     "cdr.jsonl")  # fmt: skip
    assert result.code == 5 and "line 1: duration must be" in result.err and count(vault) == 0
