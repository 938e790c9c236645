"""Benchmark erasure and access: one subject with T calls and V voicemails among N calls.

    .venv/bin/python bench/erasure.py [--rows N] [--subject-calls T] [--voicemails V]
                                      [--backend sqlite|postgresql|both] [--pg URL]

Defaults: N 200,000, T 10,000, V 100 (the issue's figure is N = 1,000,000). Every fifth of the
subject's calls is with another user (kept, unlinked), the rest with its own callers (anonymised);
every fifth of its voicemails is one it left in a colleague's mailbox; other users hold ten times as
many messages again, so every selection has to find the subject's rows among others'.

The vault is populated once and snapshotted (a file copy on SQLite, ``CREATE DATABASE ... TEMPLATE``
on PostgreSQL); each erasure variant starts from the snapshot, so all of them change the same rows
of the same database. Baselines, each in one transaction on the same engine:

- ``export_subject`` against **raw SELECTs of the same rows**: the profile's identifiers, the
  subject's calls, the identifiers of the parties its history shows, its voicemails as owner and as
  caller with their audio and key shares, its consents and requests. Three rounds alternating, the
  median of each (the export ran once, cold, and the raw SELECTs after it on the pages it had
  read).
- ``erase`` against **raw SQL changing the same rows**, one statement per kind: DELETE the calls no
  other user holds, two UPDATEs unlinking the shared ones, DELETE its voicemails as owner and as
  caller (their key shares cascade), its identifiers and profile; and again with the statistics
  and billing rows erasure writes for the deleted calls (``same work``).
- ``erase`` against **one statement per row**, as a naive erasure would do it: each of those calls
  DELETEd or UPDATEd by its key, each voicemail and identifier DELETEd by its key. (Until this
  revision the per-row baseline only UPDATEd every call, a lighter change than the DELETEs erasure
  makes, and skipped the messages left as caller: it did not touch the same rows.)
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import (
    URL,
    Connection,
    and_,
    create_engine,
    delete,
    func,
    insert,
    or_,
    select,
    text,
    update,
)

sys.path.insert(0, str(Path(__file__).parent))
from _common import DEFAULT_PG, backends, scratch_vault, timed

from callvault import Verification, erase, export_subject
from callvault.collection.ingest.voicemail_audio import seal_audio
from callvault.store.schema.consent import consent_records
from callvault.store.schema.core import calls, subject_identifiers, subjects, voicemails
from callvault.store.schema.requests import subject_requests
from callvault.store.schema.voicemail_keys import voicemail_keys
from callvault.subjects.directory import create_subject, new_id
from callvault.tenants import add_tenant
from callvault.vault import Vault

NOW = datetime.now(UTC)
AUDIO = os.urandom(32_000)  # a 2 s 8 kHz 16-bit recording's size
SHARED_EVERY = 5  # every fifth of the subject's calls is with another user: kept, unlinked
ROUNDS = 3  # exports timed, the median reported
NOISE_VOICEMAILS = 10  # other people's messages per message of the subject's


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--subject-calls", type=int, default=10_000)
    parser.add_argument("--voicemails", type=int, default=100)
    parser.add_argument("--pg", default=os.environ.get("CALLVAULT_TEST_PG", DEFAULT_PG))
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    return parser.parse_args()


def people(vault: Vault) -> dict[str, list[str]]:
    def make(conn, kind, values):  # type: ignore[no-untyped-def]
        return create_subject(vault, conn, "acme", kind=kind, values=values, now=NOW)

    with vault.transaction() as conn:
        subject = make(conn, "user", {"email": ["victim@acme.dk"], "phone": ["+4522334455"]})
        users = [make(conn, "user", {"extension": [f"{300 + i}"]}) for i in range(20)]
        lone = [make(conn, "external", {"phone": [f"+4580{900000 + i:06d}"]}) for i in range(50)]
        others = [make(conn, "external", {"phone": [f"+4580{i:06d}"]}) for i in range(200)]
    return {"subject": [subject], "users": users, "lone": lone, "others": others}


def _call(i: int, caller: str, callee: str, direction: str, at: datetime) -> dict[str, object]:
    answered = i % 3 != 2
    return {"tenant_id": "acme", "call_id": new_id(), "source_key": os.urandom(16),
            "linked_key": None, "started_at": at, "answered_at": at if answered else None,
            "ended_at": at, "duration_s": 30 + i % 600, "billsec_s": 20 + i % 500 if answered
            else 0, "direction": direction, "outcome": "answered" if answered else "no_answer",
            "caller_subject_id": caller, "callee_subject_id": callee, "created_at": NOW}  # fmt: skip


def populate(vault: Vault, n: int, t: int, v: int) -> dict[str, list[str]]:
    who = people(vault)
    subject, users = who["subject"][0], who["users"]
    rows = []
    for i in range(n - t):  # everyone else's calls
        rows.append(_call(i, who["others"][i % 200], users[i % 20], "inbound",
                          NOW - timedelta(minutes=5 * i % 100_000)))  # fmt: skip
    for i in range(t):  # the subject's: with other users (shared) or its own callers (alone)
        other = users[i % 20] if i % SHARED_EVERY == 0 else who["lone"][i % 50]
        direction = "internal" if i % SHARED_EVERY == 0 else ("outbound" if i % 2 else "inbound")
        pair = (subject, other) if direction == "outbound" else (other, subject)
        rows.append(_call(i, *pair, direction, NOW - timedelta(minutes=7 * i % 100_000)))
    for begin in range(0, len(rows), 10_000):
        with vault.transaction() as conn:
            conn.execute(insert(calls), rows[begin : begin + 10_000])
    with vault.transaction() as conn:
        messages, shares = [], []
        for i in range(v):  # every fifth is one the subject left in a colleague's mailbox
            left = i % SHARED_EVERY == 0
            owner, caller = (users[i % 20], subject) if left else (subject, who["lone"][i % 50])
            _message(vault, conn, owner, caller, NOW - timedelta(hours=i), messages, shares)
        for i in range(v * NOISE_VOICEMAILS):  # everyone else's messages
            _message(vault, conn, users[i % 20], who["others"][i % 200],
                     NOW - timedelta(minutes=i), messages, shares)  # fmt: skip
        conn.execute(insert(voicemails), messages)
        conn.execute(insert(voicemail_keys), shares)
    with vault.engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE")
    return who


def _message(
    vault: Vault,
    conn: Connection,
    owner: str,
    caller: str,
    at: datetime,
    messages: list[dict[str, object]],
    shares: list[dict[str, object]],
) -> None:
    """One voicemail as ingest stores it: the audio sealed under the owner's and caller's shares
    and the message's own key."""
    vid = new_id()
    deks = vault.keyring.deks("acme", [owner, caller])
    message_key = vault.keyring.new_message_key("acme", vid)
    sealed, keys = seal_audio("acme", vid, AUDIO, (owner, deks[owner]), (caller, deks[caller]),
                              message_key)  # fmt: skip
    messages.append({"tenant_id": "acme", "voicemail_id": vid, "source_key": os.urandom(16),
                     "mailbox_subject_id": owner, "caller_subject_id": caller,
                     "received_at": at, "duration_s": 2, "folder": "INBOX",
                     "audio_format": "wav", "audio": sealed, "created_at": NOW})  # fmt: skip
    shares += keys


class Snapshot:
    """The populated vault and its key store, copied aside once and put back before each run."""

    def __init__(self, vault: Vault) -> None:
        self.master = vault.keyring.master
        self.urls = [vault.engine.url, vault.keyring.keystore.engine.url]
        vault.close()
        for url in self.urls:
            self._copy(url, url.set(database=f"{url.database}_snap"))

    def restore(self, vault: Vault) -> Vault:
        vault.close()
        for url in self.urls:
            self._copy(url.set(database=f"{url.database}_snap"), url)
        data, keys = (u.render_as_string(hide_password=False) for u in self.urls)
        return Vault.open(data, master_key=self.master, keystore=keys)

    def drop(self) -> None:
        for url in self.urls:
            if url.get_backend_name() == "postgresql":
                with _admin(url) as conn:
                    conn.execute(
                        text(f'DROP DATABASE IF EXISTS "{url.database}_snap" WITH (FORCE)')
                    )
            else:
                Path(f"{url.database}_snap").unlink(missing_ok=True)

    @staticmethod
    def _copy(source: URL, target: URL) -> None:
        if source.get_backend_name() == "sqlite":  # closed: the WAL is checkpointed into the file
            shutil.copyfile(str(source.database), str(target.database))
            return
        with _admin(source) as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{target.database}" TEMPLATE "{source.database}"'))


@contextmanager
def _admin(url: URL) -> Iterator[Connection]:
    engine = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            yield conn
    finally:
        engine.dispose()


def _mine(subject: str):  # type: ignore[no-untyped-def]
    return or_(calls.c.caller_subject_id == subject, calls.c.callee_subject_id == subject)


ALONE = """FROM calls WHERE tenant_id = 'acme' AND (caller_subject_id = :s OR callee_subject_id = :s)
AND NOT (COALESCE(caller_subject_id, '') IN (SELECT subject_id FROM subjects WHERE tenant_id = 'acme'
AND kind = 'user' AND subject_id <> :s) OR COALESCE(callee_subject_id, '') IN (SELECT subject_id
FROM subjects WHERE tenant_id = 'acme' AND kind = 'user' AND subject_id <> :s))"""
RAW_STATS = (
    """INSERT INTO call_statistics
    (tenant_id, bucket_start, direction, outcome, calls, subjects, duration_s, billsec_s)
SELECT tenant_id, {bucket}, direction, outcome, count(*), 1, sum((duration_s + 5) / 10 * 10),
    sum((billsec_s + 5) / 10 * 10) """
    + ALONE
    + """ GROUP BY tenant_id, {bucket}, direction, outcome
ON CONFLICT (tenant_id, bucket_start, direction, outcome) DO UPDATE SET
    calls = call_statistics.calls + excluded.calls"""
)
RAW_BILLING = (
    """INSERT INTO billing_records
    (tenant_id, record_id, call_date, billsec_s, payer_subject_id, created_at)
SELECT tenant_id, {surrogate}, {day}, billsec_s, NULL, started_at """
    + ALONE
    + """
    AND direction = 'outbound' AND outcome = 'answered' AND billsec_s > 0"""
)
SQL = {
    "sqlite": {"bucket": "strftime('%Y-%m-%d %H:00:00.000000', started_at)",
               "surrogate": "lower(hex(randomblob(16)))", "day": "date(started_at)"},
    "postgresql": {"bucket": "date_trunc('hour', started_at)",
                   "surrogate": "replace(CAST(gen_random_uuid() AS TEXT), '-', '')",
                   "day": "CAST(started_at AS DATE)"},
}  # fmt: skip


def raw_erase(vault: Vault, who: dict[str, list[str]], same_work: bool = False) -> None:
    """The same rows changed by hand: one statement per kind, one transaction; with ``same_work``
    also the statistics and billing rows erasure writes for the calls no other user holds."""
    subject, users = who["subject"][0], who["users"]
    c, v = calls.c, voicemails.c
    shared = or_(c.caller_subject_id.in_(users), c.callee_subject_id.in_(users))
    with vault.engine.begin() as conn:
        if same_work:
            dialect = SQL[conn.dialect.name]
            for sql in (RAW_STATS, RAW_BILLING):
                conn.execute(text(sql.format(**dialect)), {"s": subject})
        conn.execute(delete(calls).where(c.tenant_id == "acme", _mine(subject), ~shared))
        for column in ("caller_subject_id", "callee_subject_id"):
            conn.execute(update(calls).where(c.tenant_id == "acme", c[column] == subject)
                         .values({column: None}))  # fmt: skip
        conn.execute(delete(voicemails).where(v.tenant_id == "acme", or_(
            v.mailbox_subject_id == subject, v.caller_subject_id == subject)))  # fmt: skip
        si = subject_identifiers.c
        conn.execute(delete(subject_identifiers).where(si.tenant_id == "acme",
                                                       si.subject_id == subject))  # fmt: skip
        conn.execute(delete(subjects).where(subjects.c.tenant_id == "acme",
                                            subjects.c.subject_id == subject))  # fmt: skip


def per_row_erase(vault: Vault, who: dict[str, list[str]]) -> None:
    """The same rows, one DELETE or UPDATE per row by its key, in one transaction."""
    subject, users = who["subject"][0], set(who["users"])
    c, v, si = calls.c, voicemails.c, subject_identifiers.c
    with vault.engine.begin() as conn:
        found = conn.execute(select(c.call_id, c.caller_subject_id, c.callee_subject_id).where(
            c.tenant_id == "acme", _mine(subject))).all()  # fmt: skip
        for call_id, caller, callee in found:
            key = and_(c.tenant_id == "acme", c.call_id == call_id)
            if (callee if caller == subject else caller) in users:  # shared: unlink this party
                column = "caller_subject_id" if caller == subject else "callee_subject_id"
                conn.execute(update(calls).where(key).values({column: None}))
            else:
                conn.execute(delete(calls).where(key))
        ids = conn.scalars(select(v.voicemail_id).where(v.tenant_id == "acme", or_(
            v.mailbox_subject_id == subject, v.caller_subject_id == subject))).all()  # fmt: skip
        for vid in ids:
            conn.execute(delete(voicemails).where(v.tenant_id == "acme", v.voicemail_id == vid))
        kinds = conn.execute(select(si.kind, si.slot).where(si.tenant_id == "acme",
                                                            si.subject_id == subject)).all()  # fmt: skip
        for kind, slot in kinds:
            conn.execute(delete(subject_identifiers).where(
                si.tenant_id == "acme", si.subject_id == subject, si.kind == kind,
                si.slot == slot))  # fmt: skip
        conn.execute(delete(subjects).where(subjects.c.tenant_id == "acme",
                                            subjects.c.subject_id == subject))  # fmt: skip


def raw_select(vault: Vault, who: dict[str, list[str]]) -> None:
    """The rows an export reads, selected by hand."""
    subject = who["subject"][0]
    si, v, k = subject_identifiers.c, voicemails.c, voicemail_keys.c
    with vault.engine.connect() as conn:
        conn.execute(select(subject_identifiers).where(si.tenant_id == "acme",
                                                       si.subject_id == subject)).all()  # fmt: skip
        rows = conn.execute(select(calls).where(calls.c.tenant_id == "acme", _mine(subject))).all()
        parties = {r.caller_subject_id for r in rows} | {r.callee_subject_id for r in rows}
        conn.execute(select(subject_identifiers).where(
            si.tenant_id == "acme", si.subject_id.in_(parties - {subject, None}))).all()  # fmt: skip
        theirs = or_(v.mailbox_subject_id == subject, v.caller_subject_id == subject)
        ids = conn.scalars(select(v.voicemail_id).where(v.tenant_id == "acme", theirs)).all()
        conn.execute(select(voicemails).where(v.tenant_id == "acme", v.voicemail_id.in_(ids))).all()
        conn.execute(select(voicemail_keys).where(k.tenant_id == "acme",
                                                  k.voicemail_id.in_(ids))).all()  # fmt: skip
        for table in (consent_records, subject_requests):
            conn.execute(select(table).where(table.c.tenant_id == "acme",
                                             table.c.subject_id == subject)).all()  # fmt: skip


def line(label: str, backend: str, ours: float, other: float, name: str) -> None:
    print(f"{label:<26} {backend:<10} callvault {ours * 1000:9.1f} ms   {name} "
          f"{other * 1000:10.1f} ms   ratio {ours / other:7.2f}")  # fmt: skip


def bench(backend: str, args: argparse.Namespace) -> None:
    n, t, v = args.rows, args.subject_calls, args.voicemails
    with tempfile.TemporaryDirectory() as folder:
        # the scratch vault's key store beside it, never in the working directory
        os.environ["CALLVAULT_KEYSTORE"] = f"sqlite:///{folder}/keystore-{backend}.db"
        with scratch_vault(backend, args.pg) as vault:
            _bench(vault, backend, n, t, v, Path(folder))


def export_rounds(vault: Vault, who: dict[str, list[str]], folder: Path) -> tuple[float, float]:
    """Median of three rounds, the export and the raw SELECTs alternating, so that neither gets
    the page cache the other warmed nor runs alone with cold statement caches."""
    subject, ours, raw = who["subject"][0], [], []
    for n in range(ROUNDS):
        out = folder / f"export-{n}.zip"
        ours.append(timed(lambda: export_subject(vault, "acme", subject, out,  # noqa: B023
                                                 verification=Verification.operator())))  # fmt: skip
        raw.append(timed(lambda: raw_select(vault, who)))
    return statistics.median(ours), statistics.median(raw)


def _bench(vault: Vault, backend: str, n: int, t: int, v: int, folder: Path) -> None:
    add_tenant(vault, "acme", name="Acme", collect=["name", "email", "phone",
                                                    "call_history", "voicemail"])  # fmt: skip
    who = populate(vault, n, t, v)
    subject = who["subject"][0]
    snapshot = Snapshot(vault)
    try:
        vault = snapshot.restore(vault)
        ours, raw = export_rounds(vault, who, folder)
        line("access export (zip)", backend, ours, raw, "raw SELECT")
        vault = snapshot.restore(vault)
        ours = timed(lambda: erase(vault, "acme", subject, verification=Verification.operator()))
        with vault.engine.connect() as conn:
            left = conn.scalar(select(func.count()).select_from(calls).where(_mine(subject)))
        assert left == 0, left
        vault = snapshot.restore(vault)
        raw = timed(lambda: raw_erase(vault, who))
        line("erase vs raw deletes", backend, ours, raw, "raw SQL   ")
        vault = snapshot.restore(vault)
        raw = timed(lambda: raw_erase(vault, who, same_work=True))
        line("erase vs raw same work", backend, ours, raw, "raw SQL   ")
        vault = snapshot.restore(vault)
        per_row = timed(lambda: per_row_erase(vault, who))
        print(f"{'erase vs per-row statements':<26} {backend:<10} callvault {ours * 1000:9.1f} ms   "
              f"per-row    {per_row * 1000:10.1f} ms   faster {per_row / ours:6.1f}x")  # fmt: skip
    finally:
        vault.close()
        snapshot.drop()


def main() -> None:
    args = arguments()
    print(f"erasure/access: a subject with {args.subject_calls:,} calls and {args.voicemails} "
          f"voicemails among {args.rows:,} calls")  # fmt: skip
    for backend in backends(args.backend):
        bench(backend, args)


if __name__ == "__main__":
    main()
