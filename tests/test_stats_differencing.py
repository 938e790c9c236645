"""Published statistics cannot be differenced (issue 12, item 2), on both databases.

Every published figure, at any granularity and window, is a sum of base cells (hour, direction,
outcome) that each have k or more people of the tenant; so no difference of two published figures,
and no figure itself, equals a suppressed base cell. The calls' durations are distinct powers of two
(times 10 s, unchanged by rounding), so a sum of durations names exactly the calls it adds up: a
difference that equals a suppressed cell's calls and seconds can only come from that cell's calls.
"""

import os
from datetime import UTC, datetime, timedelta
from itertools import combinations

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, insert

from callvault.collection.ingest.calls import direction
from callvault.processing.statistics import statistics
from callvault.store.schema.core import calls
from callvault.store.schema.statistics import call_statistics
from callvault.subjects.directory import new_id
from factories import make_call, make_external, make_tenant, make_users

K = 5
DAY = datetime(2026, 11, 2, tzinfo=UTC)
HOURS = [DAY + timedelta(hours=h) for h in (9, 10, 33)]  # two days, a few busy hours
EDGES = [None, DAY, DAY + timedelta(hours=10), DAY + timedelta(days=1), DAY + timedelta(hours=34)]
PARTIES = [*(f"u{i}" for i in range(6)), *(f"e{i}" for i in range(4)), None]  # users, callers
QUERIES = [(by, start, end) for by in ("hour", "day") for start in EDGES for end in EDGES
           if start is None or end is None or start < end]  # fmt: skip

call_sets = st.lists(
    st.tuples(
        st.sampled_from(HOURS),
        st.integers(0, 59),
        st.sampled_from(PARTIES),
        st.sampled_from(PARTIES),
        st.sampled_from(["answered", "answered", "no_answer"]),
    ),
    min_size=1,
    max_size=26,  # 10 * 2**26 s still fits an INTEGER column
)


@pytest.fixture
def people(vault):
    make_tenant(vault)
    users = make_users(vault, 6)
    ids = {f"u{i}": user for i, user in enumerate(users)}
    ids |= {f"e{i}": make_external(vault, phone=f"+454040400{i}") for i in range(6)}
    return ids


def _store(vault, people, generated):
    """Replace the tenant's calls with ``generated``; the base cells as the test computes them."""
    rows, cells = [], {}
    for i, (hour, minute, caller, callee, outcome) in enumerate(generated):
        seconds = 10 * 2**i
        way = direction(
            caller in people and caller[0] == "u", callee is not None and callee[0] == "u"
        )
        started = hour + timedelta(minutes=minute)
        rows.append({
            "tenant_id": "acme", "call_id": new_id(), "source_key": os.urandom(16),
            "linked_key": None, "started_at": started, "answered_at": None, "ended_at": started,
            "duration_s": seconds, "billsec_s": 0, "direction": way, "outcome": outcome,
            "caller_subject_id": people.get(caller), "callee_subject_id": people.get(callee),
            "created_at": started,
        })  # fmt: skip
        cell = cells.setdefault((hour, way, outcome), {"calls": 0, "seconds": 0, "users": set()})
        cell["calls"] += 1
        cell["seconds"] += seconds
        cell["users"] |= {p for p in (caller, callee) if p is not None and p[0] == "u"}
    with vault.transaction() as conn:
        conn.execute(delete(calls).where(calls.c.tenant_id == "acme"))
        conn.execute(delete(call_statistics).where(call_statistics.c.tenant_id == "acme"))
        conn.execute(insert(calls), rows)
    return cells


def _figures(vault, queries):
    """Every published figure of the queries: (direction, outcome) -> {(calls, seconds)}."""
    figures: dict[tuple[str, str], set[tuple[int, int]]] = {}
    for by, start, end in queries:
        for cell in statistics(vault, "acme", by=by, start=start, end=end)["cells"]:
            key = (cell["direction"], cell["outcome"])
            figures.setdefault(key, set()).add((cell["calls"], cell["duration_s"]))
    return figures


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(generated=call_sets, queries=st.lists(st.sampled_from(QUERIES), min_size=2, max_size=4))
@example(  # the case: a busy hour of five users and a quiet hour of one, in one day
    generated=[(HOURS[0], i, f"e{i % 4}", f"u{i}", "answered") for i in range(5)]
    + [(HOURS[1], 0, "e0", "u5", "answered")],
    queries=[("day", None, None), ("hour", None, None)],
)
def test_no_difference_of_published_figures_is_a_suppressed_cell(vault, people, generated, queries):
    cells = _store(vault, people, generated)
    figures = _figures(vault, queries)
    for (hour, way, outcome), cell in cells.items():
        if len(cell["users"]) >= K:
            continue  # published: its figures are meant to be seen
        secret = (cell["calls"], cell["seconds"])
        shown = figures.get((way, outcome), set())
        assert secret not in shown, f"a suppressed cell published at {hour}"
        for a, b in combinations(shown | {(0, 0)}, 2):
            difference = (abs(a[0] - b[0]), abs(a[1] - b[1]))
            assert difference != secret, f"two figures differ by the suppressed cell at {hour}"


def test_day_minus_hours_does_not_give_the_suppressed_call(vault, people):
    """The issue's reproduction: a day of 11 calls, its busy hour of 10 and a quiet hour of 1."""
    users = [people[f"u{i}"] for i in range(6)]
    for i in range(10):
        make_call(vault, caller_id=people["e0"], callee_id=users[i % 6],
                  started_at=DAY + timedelta(hours=9, minutes=i), duration_s=105)  # fmt: skip
    make_call(vault, caller_id=people["e1"], callee_id=users[0],
              started_at=DAY + timedelta(hours=14), duration_s=440)  # fmt: skip
    daily = statistics(vault, "acme", by="day")["cells"]
    hourly = statistics(vault, "acme", by="hour")
    assert [(c["calls"], c["duration_s"]) for c in daily] == [(10, 1100)]
    assert [(c["calls"], c["duration_s"]) for c in hourly["cells"]] == [(10, 1100)]
    assert hourly["suppressed_cells"] == 1


def test_one_user_with_many_callers_is_one_person(vault, people):
    """Correspondents do not count towards k: ten callers of one user are that user's hour."""
    for i in range(10):
        make_call(vault, caller_id=people[f"e{i % 6}"], callee_id=people["u0"],
                  started_at=DAY + timedelta(hours=9, minutes=i))  # fmt: skip
    result = statistics(vault, "acme", by="hour")
    assert result["cells"] == [] and result["suppressed_cells"] == 1
