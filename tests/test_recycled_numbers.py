"""A recycled number does not merge two people (issue 12, item 3), on both databases.

A user holds a number from ``number_since`` (default: the time of the directory ingest). Calls and
voicemail from before it stay with the previous holder, an external caller subject, whichever order
the directory and the records arrive in, and the new user never sees them.
"""

import json
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from callvault.collection.ingest import calls as ingest
from callvault.collection.ingest.calls import ingest_calls
from callvault.collection.ingest.subjects import ingest_subjects
from callvault.collection.ingest.voicemail import ingest_voicemail
from callvault.consent.acts import give_consent
from callvault.processing.reads import read_subject
from callvault.store.schema.core import calls, subjects
from callvault.store.schema.voicemail_keys import voicemail_keys
from callvault.subjects.directory import find_subject
from clihelp import run_cli
from ingesthelp import externals, setup_acme, stream
from spool import write_message

NOW = datetime.now(UTC).replace(microsecond=0)
BEFORE = NOW - timedelta(days=20)  # the previous holder's time
SINCE = NOW - timedelta(days=10)  # Carl holds +4550505050 from here
AFTER = NOW - timedelta(days=5)
NUMBER = "+4550505050"


def _call(started: datetime, source_id: str) -> str:
    return json.dumps({
        "id": source_id, "start": started.isoformat(), "end": started.isoformat(), "duration": 30,
        "billsec": 25, "caller": NUMBER, "callee": "202", "outcome": "answered",
    }) + "\n"  # fmt: skip


def _calls(vault, *moments):
    text = "".join(_call(m, f"c-{m.isoformat()}") for m in moments)
    ingest_calls(vault, "acme", stream(text), format="jsonl")


def _carl(vault, since: datetime | None = SINCE) -> str:
    if since is None:
        directory = f"external_id,name,phone\nu-9,Carl Caller,{NUMBER}\n"
    else:
        directory = (
            f"external_id,name,phone,number_since\nu-9,Carl Caller,{NUMBER},{since.isoformat()}\n"
        )
    ingest_subjects(vault, "acme", stream(directory), format="csv")
    with vault.engine.connect() as conn:
        carl = find_subject(vault, conn, "acme", "u-9")
    give_consent(vault, "acme", carl, "personalisation", actor=f"subject:{carl}")
    return carl


def _callers(vault) -> dict[str, tuple[str, str]]:
    """started_at -> (kind of the caller subject, direction)."""
    with vault.engine.connect() as conn:
        kinds = dict(conn.execute(select(subjects.c.subject_id, subjects.c.kind)).all())
        rows = conn.execute(
            select(calls.c.started_at, calls.c.caller_subject_id, calls.c.direction)
        )
        return {r.started_at.isoformat(): (kinds[r.caller_subject_id], r.direction) for r in rows}


def _seen_by(vault, carl) -> list[str]:
    data = read_subject(vault, "acme", carl, "personalisation", "app")
    return [c["started_at"] for c in data["calls"]]


def test_takeover_moves_only_calls_from_number_since(vault):
    setup_acme(vault)
    _calls(vault, BEFORE, AFTER)
    carl = _carl(vault)
    assert _callers(vault) == {
        BEFORE.isoformat(): ("external", "inbound"),  # the previous holder's call stays theirs
        AFTER.isoformat(): ("user", "internal"),
    }
    assert _seen_by(vault, carl) == [AFTER.isoformat()]
    assert externals(vault) == 1  # the previous holder keeps its data key for its own call


def test_number_since_defaults_to_the_time_of_ingest(vault):
    setup_acme(vault)
    _calls(vault, BEFORE, AFTER)  # the number's whole history predates Carl's directory entry
    carl = _carl(vault, since=None)
    assert {kind for kind, _ in _callers(vault).values()} == {"external"}
    assert _seen_by(vault, carl) == []


def test_calls_arriving_after_the_directory_go_to_the_previous_holder(vault):
    setup_acme(vault)
    carl = _carl(vault)
    _calls(vault, BEFORE, AFTER)
    _calls(vault, BEFORE - timedelta(days=1))  # a later file: the same previous holder
    callers = _callers(vault)
    assert callers[AFTER.isoformat()] == ("user", "internal")
    assert callers[BEFORE.isoformat()] == callers[(BEFORE - timedelta(days=1)).isoformat()]
    assert callers[BEFORE.isoformat()][0] == "external" and externals(vault) == 1
    assert _seen_by(vault, carl) == [AFTER.isoformat()]


def test_reingest_keeps_the_date_of_an_unchanged_number(vault):
    setup_acme(vault)
    carl = _carl(vault)
    _carl(vault, since=None)  # the same directory again, without the column: Carl keeps SINCE
    _calls(vault, AFTER)
    assert _seen_by(vault, carl) == [AFTER.isoformat()]


def test_voicemail_before_the_date_stays_with_the_previous_holder(vault, tmp_path):
    setup_acme(vault)
    box = tmp_path / "spool" / "default" / "202" / "INBOX"
    for stem, at in (("msg0000", BEFORE), ("msg0001", AFTER)):
        write_message(box, stem, mailbox="202", callerid=f"<{NUMBER}>",
                      origtime=int(at.timestamp()), msg_id=f"{stem}-x")  # fmt: skip
    ingest_voicemail(vault, "acme", tmp_path / "spool")
    carl = _carl(vault)
    with vault.engine.connect() as conn:
        kinds = dict(conn.execute(select(subjects.c.subject_id, subjects.c.kind)).all())
        shares = conn.execute(
            select(voicemail_keys.c.subject_id).where(voicemail_keys.c.role == "caller")
        ).scalars()
        holders = sorted(kinds[s] if s != carl else "carl" for s in shares)
    # The earlier message's caller share is not re-sealed for Carl: his key never opens it.
    assert holders == ["carl", "external"]


def test_bad_number_since_names_the_field_not_the_value(vault, cli_env, capsys):
    setup_acme(vault)
    (cli_env / "users.csv").write_text(
        "external_id,name,phone,number_since\nu-9,Carl Caller,+4550505050,carl@private.dk\n"
    )
    result = run_cli(capsys, "ingest", "subjects", "--tenant", "acme", "users.csv")
    assert result.code == 5
    assert "number_since" in result.err and "carl@private.dk" not in result.err
    with vault.engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(subjects)) == 2  # Alice and Bob


def test_batches_of_two_resolve_deduplicate_and_link_across_batches(vault, monkeypatch):
    """Batches of two records: a party resolved in an earlier batch, the previous holder found
    (batch 2) and then taken from the ingest's cache (batch 3), a record held since batch 1, and
    the legs of one call on both sides of a batch boundary."""
    monkeypatch.setattr(ingest, "BATCH", 2)
    setup_acme(vault)
    carl = _carl(vault)
    leg_one, leg_two, earliest = (
        AFTER + timedelta(hours=1),
        AFTER + timedelta(hours=2),
        BEFORE - timedelta(days=1),
    )

    def record(source_id: str, started: datetime, linked: str | None = None) -> str:
        line = json.loads(_call(started, source_id))
        return json.dumps({**line, **({"linked_id": linked} if linked else {})}) + "\n"

    text = "".join([
        record("c-1", AFTER), record("c-4", leg_one, "L-1"),  # batch 1
        record("c-2", BEFORE), record("c-5", leg_two, "L-1"),  # batch 2
        record("c-3", earliest), record("c-1", AFTER),  # batch 3: c-1 is held since batch 1
    ])  # fmt: skip
    report = ingest_calls(vault, "acme", stream(text), format="jsonl")
    assert (report.stored, report.duplicates) == (5, 1)
    callers = _callers(vault)
    assert {at: callers[at.isoformat()] for at in (AFTER, leg_one, leg_two)} == {
        at: ("user", "internal") for at in (AFTER, leg_one, leg_two)
    }
    assert callers[BEFORE.isoformat()] == callers[earliest.isoformat()] == ("external", "inbound")
    assert externals(vault) == 1  # batch 3's record found batch 2's previous holder
    with vault.engine.connect() as conn:
        linked = conn.execute(
            select(calls.c.linked_key).where(calls.c.started_at.in_([leg_one, leg_two]))
        ).scalars()
        assert len(set(linked)) == 1  # one call's two legs, written in two batches
    assert sorted(_seen_by(vault, carl)) == sorted(
        at.isoformat() for at in (AFTER, leg_one, leg_two)
    )
