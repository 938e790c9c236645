"""Arbitrary directory exports: the gate stores rows or rejects them by line, never crashes."""

import io

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from callvault import InvalidInput, ingest_subjects
from callvault.collection.parsers.directory import read_directory
from callvault.collection.parsers.records import RowError
from callvault.tenants import list_tenants
from factories import make_tenant

HEADER = "external_id,name,email,phone,extension,department,offboarded_at,extra\n"
cell = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["+4522334455", "201", "a@b.dk", "2026-10-31", "", '"', "x,y", "\n"]),
)
csv_rows = st.lists(st.lists(cell, min_size=1, max_size=9), max_size=6).map(
    lambda rows: HEADER + "".join(",".join(r) + "\n" for r in rows)
)


@given(data=st.binary(max_size=300), fmt=st.sampled_from(["csv", "jsonl"]))
def test_reader_yields_rows_or_line_errors(data, fmt):
    try:
        for item in read_directory(io.BytesIO(data), fmt):
            assert not isinstance(item, RowError) or item.line is not None
    except InvalidInput as exc:
        assert exc.line is not None


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=csv_rows)
def test_ingest_stores_or_rejects_by_line(vault, text):
    if not _has_tenant(vault):
        make_tenant(vault, "acme")
    try:
        report = ingest_subjects(vault, "acme", io.BytesIO(text.encode()), format="csv")
        assert report.rejected == 0
    except InvalidInput as exc:
        assert exc.line is not None
    # skip mode takes every file with a valid header: bad rows are counted, never raised
    ingest_subjects(vault, "acme", io.BytesIO(text.encode()), format="csv", on_error="skip")


def _has_tenant(vault) -> bool:
    with vault.engine.connect() as conn:
        return any(t.id == "acme" for t in list_tenants(conn))
