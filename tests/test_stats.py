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

BUSY_DAY = "2026-11-02T09:{:02d}:00+00:00"


def _callers(vault, n):
    return [make_external(vault, phone=f"+454040{i:04d}") for i in range(n)]


@pytest.fixture
def acme(vault):
    make_tenant(vault)
    alice = make_user(vault)
    callers = _callers(vault, 6)
    for i, (caller, seconds) in enumerate(zip(callers, [61, 64, 65, 66, 70, 75], strict=True)):
        make_call(
            vault,
            caller_id=caller,
            callee_id=alice,
            started_at=BUSY_DAY.format(i),
            duration_s=seconds,
            billsec_s=seconds - 10,
        )
    # A quiet day: two people only, so its cell must not be shown.
    make_call(vault, caller_id=callers[0], callee_id=alice, started_at="2026-11-03T09:00:00+00:00")
    return {"alice": alice, "callers": callers}


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
    assert acme["alice"] not in text and "4540" not in text


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
    assert [(c["bucket"], c["calls"]) for c in cells] == [("2026-08-01", 40), ("2026-11-02", 10)]
    assert cells[1]["duration_s"] == 410 + 400
    hourly = statistics(vault, "acme", by="hour", start=datetime(2026, 11, 1, tzinfo=UTC))
    assert [(c["bucket"], c["calls"]) for c in hourly["cells"]] == [
        ("2026-11-02T09:00:00+00:00", 6)
    ]
    assert hourly["suppressed_cells"] == 2


def test_restricted_subjects_are_left_out(vault, acme):
    restrict(vault, "acme", acme["callers"][0])
    result = statistics(vault, "acme")
    assert [c["calls"] for c in result["cells"]] == [5] and result["suppressed_cells"] == 0
    restrict(vault, "acme", acme["alice"])
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
