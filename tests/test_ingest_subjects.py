"""Users from a directory export through the collection gate: minimised, encrypted, updated."""

import json

import pytest
from sqlalchemy import select

from callvault import InvalidInput, ingest_subjects
from callvault.store.schema.core import subjects
from callvault.subjects.directory import subject_identifiers_of
from clihelp import run_cli
from factories import make_tenant
from ingesthelp import count, dump, stream

DIRECTORY = (
    "external_id,name,email,phone,extension,department,national_id,home_address\n"
    "u-1,Alice Andersen,Alice@Acme.dk,+45 22 33 44 55,201,Sales,010190-1234,Strandvej 1\n"
    'u-2,"Berg, Bob",bob@acme.dk,22334466,202,Support,020290-2345,\n'
)
NATIONAL_IDS = [b"010190-1234", b"020290-2345", b"Strandvej"]


def _users(vault):
    with vault.engine.connect() as conn:
        ids = conn.scalars(select(subjects.c.subject_id).order_by(subjects.c.created_at)).all()
        return {
            values["external_id"][0]: values
            for values in (subject_identifiers_of(vault, conn, "acme", s) for s in ids)
        }


def test_known_columns_are_stored_others_dropped(vault):
    make_tenant(vault, "acme")
    report = ingest_subjects(vault, "acme", stream(DIRECTORY), format="csv")
    assert (report.stored, report.duplicates, report.rejected) == (2, 0, 0)
    assert report.dropped_fields == {"other": 3}  # no known column: counted, never named
    alice = _users(vault)["u-1"]
    assert alice["email"] == ["alice@acme.dk"] and alice["phone"] == ["+4522334455"]
    assert _users(vault)["u-2"]["name"] == ["Berg, Bob"]


def test_dropped_columns_and_identifiers_never_reach_storage(vault):
    make_tenant(vault, "acme")
    ingest_subjects(vault, "acme", stream(DIRECTORY), format="csv")
    raw = dump(vault)
    for secret in [*NATIONAL_IDS, b"Alice Andersen", b"alice@acme.dk", b"4522334455", b"Sales"]:
        assert secret not in raw, secret


def test_profile_limits_what_is_stored(vault):
    make_tenant(vault, "acme", collect=["name", "call_history"])
    report = ingest_subjects(vault, "acme", stream(DIRECTORY), format="csv")
    assert report.dropped_fields["email"] == 2 and report.dropped_fields["phone"] == 2
    assert set(_users(vault)["u-1"]) == {"external_id", "name"}


def test_reingest_updates_by_external_id_never_duplicates(vault):
    make_tenant(vault, "acme")
    ingest_subjects(vault, "acme", stream(DIRECTORY), format="csv")
    same = ingest_subjects(vault, "acme", stream(DIRECTORY), format="csv")
    assert (same.stored, same.duplicates) == (0, 2)
    moved = DIRECTORY.replace("Sales", "Marketing")
    changed = ingest_subjects(vault, "acme", stream(moved), format="csv")
    assert (changed.stored, changed.updated, changed.duplicates) == (1, 1, 1)
    assert count(vault, subjects) == 2
    assert _users(vault)["u-1"]["department"] == ["Marketing"]


def test_jsonl_and_offboarding(vault):
    make_tenant(vault, "acme")
    text = (
        '{"external_id": "u-9", "name": "Nina", "extension": 209, "ssn": "x"}\n'
        '{"external_id": "u-8", "offboarded_at": "2026-10-31"}\n'
    )
    report = ingest_subjects(vault, "acme", stream(text), format="jsonl")
    assert (report.stored, report.dropped_fields) == (2, {"other": 1})
    with vault.engine.connect() as conn:
        gone = conn.scalars(
            select(subjects.c.offboarded_at).where(subjects.c.offboarded_at.is_not(None))
        ).all()
    assert [g.isoformat() for g in gone] == ["2026-10-31T00:00:00+00:00"]


def test_bad_row_rejects_the_file_naming_the_line(vault):
    make_tenant(vault, "acme")
    bad = DIRECTORY + "u-3,Carl,not-an-email,,,,,\n"
    with pytest.raises(InvalidInput, match="line 4: email is not an e-mail address"):
        ingest_subjects(vault, "acme", stream(bad), format="csv")
    assert count(vault, subjects) == 0


def test_number_of_another_user_is_a_row_error(vault, tmp_path):
    make_tenant(vault, "acme")
    ingest_subjects(vault, "acme", stream(DIRECTORY), format="csv")
    source = tmp_path / "users.csv"
    source.write_text("external_id,phone\nu-3,+4522334455\nu-4,+4522334477\n")
    report = ingest_subjects(vault, "acme", source, on_error="skip")
    assert (report.stored, report.rejected) == (1, 1)
    [reject] = [json.loads(x) for x in (tmp_path / "users.csv.rejects").read_text().splitlines()]
    assert reject == {"line": 2, "pointer": None, "reason": "phone belongs to another user"}


def test_cli(vault, cli_env, capsys):
    make_tenant(vault, "acme")
    (cli_env / "users.csv").write_text(DIRECTORY)
    result = run_cli(capsys, "ingest", "subjects", "--tenant", "acme", "users.csv", "--json")
    assert result.code == 0, result.err
    assert result.json() == {"stored": 2, "duplicates": 0, "rejected": 0,
                             "dropped_fields": {"other": 3}}  # fmt: skip
    assert run_cli(capsys, "tenant", "show", "acme", "--json").json()["counts"]["subjects"] == 2
    (cli_env / "bad.csv").write_text("name\nAlice\n")
    bad = run_cli(capsys, "ingest", "subjects", "--tenant", "acme", "bad.csv")
    assert bad.code == 5 and "external_id" in bad.err


def test_cli_jsonl_skip_writes_the_named_rejects_file(vault, cli_env, capsys):
    make_tenant(vault, "acme")
    (cli_env / "users.txt").write_text(
        '{"external_id": "u-1", "email": "x"}\n{"external_id": "u-2"}\n'
    )
    args = ["ingest", "subjects", "--tenant", "acme", "users.txt", "--format", "jsonl"]
    result = run_cli(capsys, *args, "--on-error", "skip", "--rejects", "bad.jsonl", "--json")
    assert result.code == 0, result.err
    assert (result.json()["stored"], result.json()["rejected"]) == (1, 1)
    [reject] = [json.loads(x) for x in (cli_env / "bad.jsonl").read_text().splitlines()]
    assert (reject["line"], reject["reason"]) == (1, "email is not an e-mail address")
