"""Generated demo sources in the real formats callvault ingests: a directory export (CSV), call
records (callvault's JSONL) and an Asterisk voicemail spool. Every name and number is invented
(Danish numbers from the 2x range, e-mails under example domains)."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

FIRST = ("Anna", "Bo", "Camilla", "Dorte", "Emil", "Frida", "Gustav", "Hanne", "Ida", "Jens",
         "Karen", "Lars", "Mette", "Niels", "Oliver", "Pia", "Rasmus", "Sofie", "Thomas", "Ulla")  # fmt: skip
LAST = ("Andersen", "Berg", "Christensen", "Dahl", "Eriksen", "Frost", "Hansen", "Jensen", "Kjær",
        "Larsen", "Madsen", "Nielsen", "Olsen", "Pedersen", "Rasmussen", "Sørensen", "Thomsen")  # fmt: skip
OUTCOMES = (("answered", 0.78), ("no_answer", 0.15), ("busy", 0.05), ("failed", 0.02))
EXTERNALS = 2000


# A message information file as app_voicemail writes it (msgNNNN.txt): what the demo generates
# (the tests write the same), in the format the voicemail parser reads.
MESSAGE_TXT = """;
; Message Information file
;
[message]
origmailbox={mailbox}
context=from-external
macrocontext=
exten=s
rdnis=unknown
priority=2
callerchan=PJSIP/trunk-00000002
callerid={callerid}
origdate={origdate}
origtime={origtime}
category=
msg_id={msg_id}
flag=
duration={duration}
"""


@dataclass(frozen=True)
class DemoUser:
    external_id: str
    name: str
    email: str
    phone: str
    extension: str


def users(
    tenant: str, domain: str, count: int, first_number: int, rng: random.Random
) -> list[DemoUser]:
    made = []
    for i in range(count):
        name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
        email = f"{name.split()[0].lower()}.{i}@{domain}".replace("ø", "o").replace("æ", "ae")
        made.append(DemoUser(f"{tenant}-{i:04d}", name, email, f"+45{first_number + i:08d}",
                             str(2000 + i)))  # fmt: skip
    return made


def write_directory(path: Path, people: list[DemoUser], since: datetime) -> None:
    """The directory export; every user has held its number and extension since ``since`` (before
    the first call), so the year's calls are theirs and not a previous holder's."""
    day = since.date().isoformat()
    lines = ["external_id,name,email,phone,extension,number_since"]
    lines += [f"{u.external_id},{u.name},{u.email},{u.phone},{u.extension},{day}" for u in people]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _outcome(rng: random.Random) -> str:
    roll, total = rng.random(), 0.0
    for outcome, share in OUTCOMES:
        total += share
        if roll < total:
            return outcome
    return OUTCOMES[0][0]


def write_calls(path: Path, people: list[DemoUser], count: int, now: datetime,
                rng: random.Random) -> None:  # fmt: skip
    """``count`` calls on the working days of the year before ``now``, in office hours (so that
    hourly statistics cells hold enough users to be shown): 45 % inbound from external numbers,
    40 % outbound, 15 % between colleagues."""
    externals = [f"+45{30000000 + i * 7:08d}" for i in range(EXTERNALS)]
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    days = [today - timedelta(days=d) for d in range(1, 366)]
    workdays = [d for d in days if d.weekday() < 5]
    # In time order, as an exchange writes them (an hour's calls arrive in one ingest batch).
    moments = sorted(rng.choice(workdays) + timedelta(seconds=rng.randint(7 * 3600, 16 * 3600))
                     for _ in range(count))  # fmt: skip
    with path.open("w", encoding="utf-8") as out:
        for n, at in enumerate(moments):
            user = rng.choice(people)
            kind = rng.random()
            if kind < 0.45:
                caller, callee = rng.choice(externals), user.extension
            elif kind < 0.85:
                caller, callee = user.extension, rng.choice(externals)
            else:
                caller, callee = user.extension, rng.choice(people).extension
            outcome = _outcome(rng)
            duration = rng.randint(20, 900) if outcome == "answered" else rng.randint(3, 40)
            record = {"id": f"d{n}", "start": at.isoformat(), "duration": duration,
                      "caller": caller, "callee": callee, "outcome": outcome}  # fmt: skip
            if outcome == "answered":
                record["answer"] = (at + timedelta(seconds=3)).isoformat()
            out.write(json.dumps(record) + "\n")


def write_spool(root: Path, people: list[DemoUser], count: int, now: datetime,
                rng: random.Random) -> None:  # fmt: skip
    """``count`` messages in the users' INBOX folders over the 20 days before ``now`` (a voicemail
    is kept 30 days), with a few bytes standing in for the audio."""
    per_box: dict[str, int] = {}
    for n in range(count):
        user = rng.choice(people)
        at = now - timedelta(days=rng.uniform(0.1, 20))
        origtime = int(at.timestamp())
        folder = root / "default" / user.extension / "INBOX"
        folder.mkdir(parents=True, exist_ok=True)
        stem = f"msg{per_box.get(user.extension, 0):04d}"
        per_box[user.extension] = per_box.get(user.extension, 0) + 1
        origdate = datetime.fromtimestamp(origtime, UTC).strftime("%a %b %e %I:%M:%S %p UTC %Y")
        text = MESSAGE_TXT.format(mailbox=user.extension,
                                  callerid=f"<+45{30000000 + n * 7:08d}>", origdate=origdate,
                                  origtime=origtime, msg_id=f"{origtime}-{n:08d}",
                                  duration=rng.randint(5, 60))  # fmt: skip
        (folder / f"{stem}.txt").write_text(text, encoding="utf-8")
        (folder / f"{stem}.wav").write_bytes(b"RIFF" + rng.randbytes(256))
