"""Anonymous statistics: aggregates only, rounded durations, small cells suppressed, both databases."""

from datetime import UTC, datetime

import pytest
from sqlalchemy import insert

from callvault.accountability.audit import entries
from callvault.errors import PolicyRefusal
from callvault.processing.statistics import statistics
from callvault.rights.restriction import restrict
from callvault.store.schema.statistics import call_statistics
from clihelp import run_cli
from factories import make_call, make_external, make_tenant, make_user

BUSY_DAY = "2026-11-02T09:{:02d}:00+00:00"  # six users, one call each
QUIET_DAY = "2026-11-03T09:00:00+00:00"


def _callers(vault, n):
    return [make_external(vault, phone=f"+454040{i:04d}") for i in range(n)]


def _users(vault, n):
    return [make_user(vault, name=f"User {i}", email=f"u{i}@acme.dk", phone=f"+452233{i:04d}",
                      extension=f"3{i:02d}") for i in range(n)]  # fmt: skip


@pytest.fixture
def acme(vault):
    make_tenant(vault)
    users = _users(vault, 6)
    callers = _callers(vault, 6)
    seconds = [61, 64, 65, 66, 70, 75]
    for i, (caller, user, s) in enumerate(zip(callers, users, seconds, strict=True)):
        make_call(vault, caller_id=caller, callee_id=user, started_at=BUSY_DAY.format(i),
                  duration_s=s, billsec_s=s - 10)  # fmt: skip
    # A quiet day: one user only (however many callers), so its cell must not be shown.
    for caller in callers:
        make_call(vault, caller_id=caller, callee_id=users[0], started_at=QUIET_DAY)
    return {"alice": users[0], "users": users, "callers": callers}


def test_cells_round_and_suppress(vault, acme):
    result = statistics(vault, "acme")
    assert result["k"] == 5 and result["suppressed_cells"] == 1
    assert result["cells"] == [
        {
            "bucket": "2026-11-02",
            "direction": "inbound",
            "outcome": "answered",
            "calls": 6,
            "duration_s": 60 + 60 + 70 + 70 + 70 + 80,
            "billsec_s": 50 + 50 + 60 + 60 + 60 + 70,
        }
    ]
    text = str(result)
    assert all(u not in text for u in acme["users"]) and "4540" not in text


def test_live_calls_and_retained_statistics_combine(vault, acme):
    with vault.transaction() as conn:
        conn.execute(
            insert(call_statistics),
            [
                {
                    "tenant_id": "acme",
                    "bucket_start": datetime(2026, 11, 2, 14, tzinfo=UTC),
                    "direction": "inbound",
                    "outcome": "answered",
                    "calls": 4,
                    "subjects": 3,
                    "duration_s": 400,
                    "billsec_s": 300,
                },
                {
                    "tenant_id": "acme",
                    "bucket_start": datetime(2026, 8, 1, 8, tzinfo=UTC),
                    "direction": "outbound",
                    "outcome": "busy",
                    "calls": 40,
                    "subjects": 9,
                    "duration_s": 0,
                    "billsec_s": 0,
                },
            ],
        )
    cells = statistics(vault, "acme")["cells"]
    # The stored 14:00 cell has 3 people: suppressed, so the day is its 09:00 hour only.
    assert [(c["bucket"], c["calls"]) for c in cells] == [("2026-08-01", 40), ("2026-11-02", 6)]
    assert cells[1]["duration_s"] == 410
    hourly = statistics(vault, "acme", by="hour", start=datetime(2026, 11, 1, tzinfo=UTC))
    assert [(c["bucket"], c["calls"]) for c in hourly["cells"]] == [
        ("2026-11-02T09:00:00+00:00", 6)
    ]
    assert hourly["suppressed_cells"] == 2


def test_restricted_subjects_are_left_out(vault, acme):
    make_call(vault, caller_id=acme["callers"][0], callee_id=acme["alice"],
              started_at=BUSY_DAY.format(30))  # fmt: skip
    assert [c["calls"] for c in statistics(vault, "acme")["cells"]] == [7]
    restrict(vault, "acme", acme["callers"][0])  # a correspondent: its calls go, the cell stays
    result = statistics(vault, "acme")
    assert [c["calls"] for c in result["cells"]] == [5] and result["suppressed_cells"] == 1
    restrict(vault, "acme", acme["alice"])  # five people left: still k
    assert [c["calls"] for c in statistics(vault, "acme")["cells"]] == [5]
    restrict(vault, "acme", acme["users"][1])
    assert statistics(vault, "acme")["cells"] == []


def test_tenant_without_call_history_is_refused(vault):
    make_tenant(vault, collect=["name", "phone"])
    with pytest.raises(PolicyRefusal, match="not collected"):
        statistics(vault, "acme")
    with vault.engine.connect() as conn:
        (entry,) = entries(conn, "acme", action="stats")
    assert entry["outcome"] == "deny" and entry["purpose"] == "customer_service"


def test_cli_stats_json(vault, acme, cli_env, capsys):
    result = run_cli(
        capsys, "stats", "--tenant", "acme", "--from", "2026-11-02", "--to", "2026-11-02", "--json"
    )
    assert result.code == 0, result.err
    assert [c["calls"] for c in result.json()["cells"]] == [6]
    assert run_cli(capsys, "stats", "--tenant", "acme", "--by", "week").code == 5
    with vault.engine.connect() as conn:
        audited = list(entries(conn, "acme", action="stats"))
    assert audited[0]["outcome"] == "allow" and audited[0]["legal_basis"] == "legitimate_interest"


def test_windows_snap_to_whole_buckets(vault, acme):
    """Finding 4: windows a second apart cannot differ by one call; both cover whole buckets."""
    at = datetime(2026, 11, 2, 9, 3, tzinfo=UTC)  # the fourth call of the busy hour starts here
    for by in ("hour", "day"):
        before = statistics(vault, "acme", by=by, start=at, end=at.replace(hour=10))
        after = statistics(
            vault, "acme", by=by, start=at.replace(second=1), end=at.replace(hour=10)
        )
        assert before["cells"] == after["cells"] and before["cells"][0]["calls"] == 6
        assert before["from"] == after["from"]
    hourly = statistics(vault, "acme", by="hour", start=at, end=at)
    assert (hourly["from"], hourly["to"]) == (
        "2026-11-02T09:00:00+00:00",
        "2026-11-02T10:00:00+00:00",
    )
