"""Shared by the ingest tests: sample sources shaped like the real tools' output, and a raw dump."""

from __future__ import annotations

import io
import subprocess
from pathlib import Path

from sqlalchemy import func, select

from callvault.store.schema.core import calls, subjects
from callvault.vault import Vault
from factories import make_tenant, make_user

# Asterisk cdr_csv, 21 columns (loguniqueid, loguserfield, newcdrcolumns): an outbound call from
# Alice (201) in two legs of one linkedid, then an unanswered inbound call from an external number.
ASTERISK_CSV = (
    '"","201","+4540404040","from-internal","""Alice"" <201>","PJSIP/201-00000001",'
    '"PJSIP/trunk-00000002","Dial","PJSIP/+4540404040@trunk,60","2026-11-02 10:00:00",'
    '"2026-11-02 10:00:08","2026-11-02 10:03:29",209,201,"ANSWERED","DOCUMENTATION",'
    '"1762077600.1","userfield 4540404040","","1762077600.1",1\n'
    '"","201","+4540404040","from-internal","""Alice"" <201>","Local/201@ctx-00000003;1",'
    '"PJSIP/trunk-00000004","Dial","PJSIP/+4540404040@trunk,60","2026-11-02 10:00:00",'
    ',"2026-11-02 10:00:20",20,0,"NO ANSWER","DOCUMENTATION","1762077600.3","","",'
    '"1762077600.1",2\n'
    '"","+4550505050","201","from-external","""Carl Caller"" <+4550505050>",'
    '"PJSIP/trunk-00000005","PJSIP/201-00000006","Dial","PJSIP/201,30","2026-11-02 11:00:00",'
    ',"2026-11-02 11:00:30",30,0,"NO ANSWER","DOCUMENTATION","1762081200.5","","",'
    '"1762081200.5",3\n'
)

ASTERISK_CUSTOM = (
    '"""Alice"" <201>","201","+4540404040","from-internal","PJSIP/201-00000001",'
    '"PJSIP/trunk-00000002","Dial","PJSIP/4540404040@trunk,60","2026-11-02 10:00:00",'
    '"2026-11-02 10:00:08","2026-11-02 10:03:29","209","201","ANSWERED","DOCUMENTATION","",'
    '"1762077600.1","",7\n'
)

FREESWITCH_CSV = (
    '"Alice","201","+4540404040","default","2026-11-02 10:00:00","2026-11-02 10:00:08",'
    '"2026-11-02 10:03:29","209","201","NORMAL_CLEARING","a1b2c3d4-0000-4000-8000-000000000001",'
    '"b1b2c3d4-0000-4000-8000-000000000002","","PCMA","PCMA"\n'
)

GRAPH_PSTN = (
    '{"@odata.context": "https://graph.microsoft.com/v1.0/$metadata", "value": [{'
    '"id": "9c4984c7-6c3c-427d-a30c-bd0b2eacee90", "callId": "1835317186_112562680@61.221.3.176",'
    '"userId": "db03c14b-06eb-4189-939b-7cbf3a20ba27", "userPrincipalName": "alice@acme.dk",'
    '"userDisplayName": "Alice Andersen", "startDateTime": "2026-11-02T09:00:08.2589935Z",'
    '"endDateTime": "2026-11-02T09:03:47.2589935Z", "duration": 219, "charge": 0.0,'
    '"callType": "user_in", "currency": "DKK", "calleeNumber": "+4522334455",'
    '"usageCountryCode": "DK", "tenantCountryCode": "DK", "connectionCharge": 0.0,'
    '"callerNumber": "+4540404040", "destinationContext": null, "destinationName": "Denmark",'
    '"conferenceId": null, "licenseCapability": "MCOPSTNU", "inventoryType": "Subscriber",'
    '"operator": "Microsoft", "callDurationSource": "microsoft"}]}'
)

JSONL = (
    '{"id": "c-1", "linked_id": "call-1", "start": "2026-11-02T10:00:00+01:00",'
    ' "answer": "2026-11-02T10:00:08+01:00", "end": "2026-11-02T10:03:29+01:00",'
    ' "duration": 209, "billsec": 201, "caller": "201", "callee": "202",'
    ' "caller_name": "Alice Andersen", "outcome": "answered", "note": "call Bob re invoice"}\n'
)

# Kamailio acc_cdrs exported with a header (sqlite3 -header -csv): an answered call from Alice,
# with the cdr_extra columns src_user, dst_user, callid and src_ip.
KAMAILIO_ACC = (
    "id,start_time,end_time,duration,src_user,dst_user,callid,src_ip\n"
    "17,2026-11-02 10:00:08,2026-11-02 10:03:29,201.250,201,+4540404040,"
    "a84b4c76e66710@pc33.atlanta.example.com,192.0.2.101\n"
)

SAMPLES = {
    "asterisk-csv": (ASTERISK_CSV, 3),
    "asterisk-custom": (ASTERISK_CUSTOM, 1),
    "freeswitch-csv": (FREESWITCH_CSV, 1),
    "graph-pstn": (GRAPH_PSTN, 1),
    "jsonl": (JSONL, 1),
    "kamailio-acc": (KAMAILIO_ACC, 1),
}

SECRETS = ["a84b4c76e66710", "192.0.2.101", "Alice Andersen", "alice@acme.dk", "4522334455", "4540404040", "4550505050",
           "Carl Caller", "Bob Berg", "bob@acme.dk"]  # fmt: skip


def setup_acme(vault: Vault, collect: list[str] | None = None) -> tuple[str, str]:
    """Tenant acme with Alice (201, +4522334455) and Bob (202, +4522334466)."""
    make_tenant(vault, "acme", collect=collect)
    alice = make_user(vault, "acme")
    bob = make_user(vault, "acme", name="Bob Berg", email="bob@acme.dk", phone="+4522334466",
                    extension="202")  # fmt: skip
    return alice, bob


def stream(text: str) -> io.BytesIO:
    return io.BytesIO(text.encode("utf-8"))


def count(vault: Vault, table=calls) -> int:  # type: ignore[no-untyped-def]
    with vault.engine.connect() as conn:
        return conn.scalar(select(func.count()).select_from(table)) or 0


def externals(vault: Vault) -> int:
    with vault.engine.connect() as conn:
        query = select(func.count()).select_from(subjects).where(subjects.c.kind == "external")
        return conn.scalar(query) or 0


def dump(vault: Vault) -> bytes:
    """Everything the database holds, as raw bytes (SQLite file + WAL, or pg_dump)."""
    url = vault.engine.url
    if url.get_backend_name() == "sqlite":
        vault.engine.dispose()
        files = [Path(str(url.database)), Path(str(url.database) + "-wal")]
        return b"".join(f.read_bytes() for f in files if f.exists())
    plain = url.set(drivername="postgresql").render_as_string(hide_password=False)
    return subprocess.run(["pg_dump", "--data-only", plain], check=True, capture_output=True).stdout
