"""Benchmark erasure and access: one subject with T calls and V voicemails among N calls.

    .venv/bin/python bench/erasure.py [--rows N] [--subject-calls T] [--voicemails V]
                                      [--backend sqlite|postgresql|both] [--pg URL]

``erase`` is timed against raw SQL changing the same rows (one DELETE of the calls no other user
holds, two UPDATEs unlinking the shared ones, one DELETE of the voicemails, the identifiers and the
profile) and against a one-statement-per-row erasure of the same rows; ``export_subject`` against raw
SELECTs of the same rows (profile, calls, voicemail audio). Defaults: N 200,000, T 10,000, V 100 (the
issue's figure is N = 1,000,000).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Connection, delete, func, insert, or_, select, text, update

sys.path.insert(0, str(Path(__file__).parent))
from _common import DEFAULT_PG, backends, scratch_vault, timed

from callvault import Verification, erase, export_subject
from callvault.collection.ingest.voicemail_audio import seal_audio
from callvault.store.schema.core import calls, subject_identifiers, subjects, voicemails
from callvault.store.schema.retention import billing_records
from callvault.store.schema.statistics import call_statistics
from callvault.store.schema.voicemail_keys import voicemail_keys
from callvault.subjects.directory import create_subject, new_id
from callvault.tenants import add_tenant
from callvault.vault import Vault

NOW = datetime.now(UTC)
AUDIO = os.urandom(32_000)  # a 2 s 8 kHz 16-bit recording's size
SHARED_EVERY = 5  # every fifth of the subject's calls is with another user: kept, unlinked
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


def reset(vault: Vault) -> None:
    with vault.transaction() as conn:
        for table in (voicemail_keys, voicemails, calls, subject_identifiers, subjects,
                      call_statistics, billing_records):  # fmt: skip
            conn.execute(delete(table))


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
        conn.execute(delete(subject_identifiers).where(subject_identifiers.c.subject_id == subject))
        conn.execute(delete(subjects).where(subjects.c.subject_id == subject))


def per_row_erase(vault: Vault, who: dict[str, list[str]]) -> None:
    """The same rows, one UPDATE or DELETE per row (the pattern set-based erasure replaces)."""
    subject = who["subject"][0]
    with vault.engine.begin() as conn:
        found = conn.execute(select(calls.c.call_id, calls.c.caller_subject_id).where(
            calls.c.tenant_id == "acme", _mine(subject))).all()  # fmt: skip
        for row in found:
            column = (
                "caller_subject_id" if row.caller_subject_id == subject else "callee_subject_id"
            )
            conn.execute(update(calls).where(calls.c.tenant_id == "acme",
                                             calls.c.call_id == row.call_id).values({column: None}))  # fmt: skip
        ids = conn.scalars(select(voicemails.c.voicemail_id).where(
            voicemails.c.mailbox_subject_id == subject)).all()  # fmt: skip
        for vid in ids:
            conn.execute(delete(voicemails).where(voicemails.c.tenant_id == "acme",
                                                  voicemails.c.voicemail_id == vid))  # fmt: skip


def raw_select(vault: Vault, who: dict[str, list[str]]) -> None:
    subject = who["subject"][0]
    with vault.engine.connect() as conn:
        conn.execute(select(subject_identifiers).where(
            subject_identifiers.c.subject_id == subject)).all()  # fmt: skip
        conn.execute(select(calls).where(calls.c.tenant_id == "acme", _mine(subject))).all()
        conn.execute(select(voicemails).where(voicemails.c.mailbox_subject_id == subject)).all()


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


def _bench(vault: Vault, backend: str, n: int, t: int, v: int, folder: Path) -> None:
    add_tenant(vault, "acme", name="Acme", collect=["name", "email", "phone",
                                                    "call_history", "voicemail"])  # fmt: skip
    who = populate(vault, n, t, v)
    subject = who["subject"][0]
    out = folder / "export.zip"
    ours = timed(lambda: export_subject(vault, "acme", subject, out,
                                        verification=Verification.operator()))  # fmt: skip
    raw = timed(lambda: raw_select(vault, who))
    line("access export (zip)", backend, ours, raw, "raw SELECT")
    ours = timed(lambda: erase(vault, "acme", subject, verification=Verification.operator()))
    with vault.engine.connect() as conn:
        left = conn.scalar(select(func.count()).select_from(calls).where(_mine(subject)))
    assert left == 0, left
    reset(vault)
    who = populate(vault, n, t, v)
    raw = timed(lambda: raw_erase(vault, who))
    line("erase vs raw deletes", backend, ours, raw, "raw SQL   ")
    reset(vault)
    who = populate(vault, n, t, v)
    raw = timed(lambda: raw_erase(vault, who, same_work=True))
    line("erase vs raw same work", backend, ours, raw, "raw SQL   ")
    reset(vault)
    who = populate(vault, n, t, v)
    per_row = timed(lambda: per_row_erase(vault, who))
    print(f"{'erase vs per-row UPDATEs':<26} {backend:<10} callvault {ours * 1000:9.1f} ms   "
          f"per-row    {per_row * 1000:10.1f} ms   faster {per_row / ours:6.1f}x")  # fmt: skip


def main() -> None:
    args = arguments()
    print(f"erasure/access: a subject with {args.subject_calls:,} calls and {args.voicemails} "
          f"voicemails among {args.rows:,} calls")  # fmt: skip
    for backend in backends(args.backend):
        bench(backend, args)


if __name__ == "__main__":
    main()
