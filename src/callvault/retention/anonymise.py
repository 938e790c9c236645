"""Anonymising a batch of expired call records (GDPR Art. 5(1)(e), Recital 26; DESIGN "Anonymisation").

A call record past its period survives only as anonymous statistics: the batch is merged into
``call_statistics`` cells (tenant, hour bucket, direction, outcome, counts, durations rounded by
:mod:`callvault.store.cells`), and the billing subset the Bookkeeping Act obliges us to keep is copied
to ``billing_records`` (day, billed seconds, paying user's surrogate id) before the rows are deleted.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    Text,
    and_,
    cast,
    func,
    literal,
    literal_column,
    select,
    union_all,
)
from sqlalchemy.dialects import postgresql, sqlite

from callvault.store.cells import bucket_start, day_of, rounded
from callvault.store.schema.core import UTCDateTime, calls, subjects
from callvault.store.schema.retention import billing_records
from callvault.store.schema.statistics import call_statistics


def _surrogate(conn: Connection) -> ColumnElement[Any]:
    """A random 32-hex surrogate made by the database itself (never derived from the call)."""
    if conn.dialect.name == "postgresql":
        return func.replace(cast(func.gen_random_uuid(), Text), literal_column("'-'"), "")
    return func.lower(func.hex(func.randomblob(16)))


def _greatest(conn: Connection, a: Any, b: Any) -> ColumnElement[Any]:
    return func.greatest(a, b) if conn.dialect.name == "postgresql" else func.max(a, b)


def _insert(conn: Connection, table: Any) -> Any:
    return (postgresql if conn.dialect.name == "postgresql" else sqlite).insert(table)


def aggregate_calls(conn: Connection, batch: ColumnElement[bool]) -> list[str | None] | None:
    """Upsert the batch into call_statistics hour cells: counts add; ``subjects`` is the cell's
    population (:func:`callvault.store.cells.population`: the tenant's users, never their
    correspondents), merged with the max across batches (an undercount).

    One pass over the batch, each party's kind one probe of ``subjects``. PostgreSQL groups the
    calls by cell alone, as a plain GROUP BY would, and counts each cell's distinct users from
    the arrays of its callers and callees who are users; SQLite, without arrays, groups them by
    cell and by their pair of users, and the cells' totals and populations come from those few
    groups (on PostgreSQL that second grouping sorted every call by two subject ids as well).

    On PostgreSQL the same pass collects each cell's distinct parties who are not users, and the
    statement answers them (the candidates for shredding, read here rather than by another pass
    over the batch); on SQLite, None.
    """
    c = calls.c
    bucket = bucket_start(conn, c.started_at, "hour")
    first, second = subjects.alias("first_user"), subjects.alias("second_user")
    parties = calls.outerjoin(first, _user(first, c.caller_subject_id)).outerjoin(
        second, _user(second, c.callee_subject_id)
    )
    cell = (c.tenant_id, bucket.label("bucket"), c.direction, c.outcome)
    sums = (
        func.count().label("calls"),
        func.sum(rounded(c.duration_s)).label("duration_s"),
        func.sum(rounded(c.billsec_s)).label("billsec_s"),
    )
    grouped = (c.tenant_id, bucket, c.direction, c.outcome)
    if conn.dialect.name == "postgresql":
        users = func.array_cat(
            func.array_agg(first.c.subject_id).filter(first.c.subject_id.is_not(None)),
            func.array_agg(second.c.subject_id).filter(second.c.subject_id.is_not(None)),
        )
        user = func.unnest(users).column_valued("cell_user")
        people = select(func.count(user.distinct())).scalar_subquery().label("people")
        others = func.array_cat(
            func.array_agg(c.caller_subject_id.distinct()).filter(first.c.subject_id.is_(None)),
            func.array_agg(c.callee_subject_id.distinct()).filter(second.c.subject_id.is_(None)),
        ).label("others")
        calls_n, duration, billsec = sums
        cells = (
            select(*cell, calls_n, people, duration, billsec, others)
            .select_from(parties)
            .where(batch)
            .group_by(*grouped)
            .cte("cells")
        )
        k = cells.c
        merged = _merge(conn, select(k.tenant_id, k.bucket, k.direction, k.outcome, k.calls,
                                     k.people, k.duration_s, k.billsec_s))  # fmt: skip
        party = func.unnest(k.others).label("party")
        return list(conn.scalars(select(party).distinct().add_cte(merged.cte("merged"))))
    groups = (
        select(
            *cell,
            first.c.subject_id.label("caller_user"),
            second.c.subject_id.label("callee_user"),
            *sums,
        )
        .select_from(parties)
        .where(batch)
        .group_by(*grouped)
        .group_by(first.c.subject_id, second.c.subject_id)
        .cte("cell_groups")
    )
    merge_statistics(conn, _cells_of_groups(groups))
    return None


def _cells_of_groups(groups: Any) -> Select[Any]:
    """The cells (tenant, bucket, direction, outcome, calls, people, durations) of ``groups``:
    grouped by cell and pair of users, with their counts and sums."""
    g = groups.c
    key = (g.tenant_id, g.bucket, g.direction, g.outcome)
    sums = [func.sum(g[name]).label(name) for name in ("calls", "duration_s", "billsec_s")]
    totals = select(*key, *sums).group_by(*key).subquery()
    users = union_all(
        select(*key, g.caller_user.label("user")), select(*key, g.callee_user.label("user"))
    ).subquery()
    u = users.c
    people = (
        select(u.bucket, u.direction, u.outcome, func.count(u.user.distinct()).label("people"))
        .where(u.user.is_not(None))
        .group_by(u.bucket, u.direction, u.outcome)
        .subquery()
    )
    t, p = totals.c, people.c
    same = and_(t.bucket == p.bucket, t.direction == p.direction, t.outcome == p.outcome)
    return select(
        t.tenant_id,
        t.bucket,
        t.direction,
        t.outcome,
        t.calls,
        func.coalesce(p.people, 0),
        t.duration_s,
        t.billsec_s,
    ).select_from(totals.outerjoin(people, same))


def _user(alias: Any, party: Any) -> ColumnElement[bool]:
    """``alias`` (of subjects) is ``party`` when that party is one of the tenant's users."""
    return and_(
        alias.c.tenant_id == calls.c.tenant_id,
        alias.c.subject_id == party,
        alias.c.kind == "user",
    )


def merge_statistics(conn: Connection, query: Select[Any]) -> None:
    """Upsert cells selected by ``query`` (tenant, bucket, direction, outcome, calls, subjects,
    duration, billsec) into call_statistics: counts and sums add, subjects take the max, an
    undercount, so k-suppression errs on the side of suppressing (Recital 26)."""
    conn.execute(_merge(conn, query))


def _merge(conn: Connection, query: Select[Any]) -> Any:
    """The upsert of :func:`merge_statistics`, not executed."""
    stats = call_statistics.c
    names = ["tenant_id", "bucket_start", "direction", "outcome"]
    names += ["calls", "subjects", "duration_s", "billsec_s"]
    statement = _insert(conn, call_statistics).from_select(names, query)
    statement = statement.on_conflict_do_update(
        index_elements=[stats.tenant_id, stats.bucket_start, stats.direction, stats.outcome],
        set_={
            "calls": stats.calls + statement.excluded.calls,
            "subjects": _greatest(conn, stats.subjects, statement.excluded.subjects),
            "duration_s": stats.duration_s + statement.excluded.duration_s,
            "billsec_s": stats.billsec_s + statement.excluded.billsec_s,
        },
    )
    return statement


def billing_subset(batch: ColumnElement[bool], billing_from: datetime) -> ColumnElement[bool]:
    """The calls the Bookkeeping Act makes us keep: outbound, answered, billed (and not yet past
    the billing period themselves)."""
    return and_(
        batch,
        calls.c.direction == "outbound",
        calls.c.outcome == "answered",
        calls.c.billsec_s > 0,
        calls.c.started_at >= billing_from,
    )


def copy_billing(
    conn: Connection, batch: ColumnElement[bool], billing_from: datetime, now: datetime
) -> int:
    query = select(
        calls.c.tenant_id,
        _surrogate(conn),
        day_of(conn, calls.c.started_at),
        calls.c.billsec_s,
        calls.c.caller_subject_id,  # outbound: the caller is the tenant's paying user
        literal(now, UTCDateTime),
    ).where(billing_subset(batch, billing_from))
    names = ["tenant_id", "record_id", "call_date", "billsec_s", "payer_subject_id", "created_at"]
    statement = _insert(conn, billing_records).from_select(names, query)
    if conn.dialect.name == "postgresql":  # psycopg reports no rowcount for INSERT ... SELECT:
        copied = statement.returning(literal_column("1")).cte("copied")  # counted in the server
        return int(conn.scalar(select(func.count()).select_from(copied)) or 0)
    return conn.execute(statement).rowcount or 0
