"""Numbers with a home: read in the source's region, never guessed into another country.

Property tests over generated numbers in several regions (pure functions, no database), then the
cases of the issue through the ingest: foreign national forms, unparsed numbers, extensions of any
length, endpoint names.
"""

from __future__ import annotations

import json
import re

import phonenumbers
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from callvault import InvalidInput, UsageError, ingest_calls, ingest_subjects
from callvault.store.schema.core import calls, subject_identifiers, subjects
from callvault.subjects.identifiers import normalise_phone, party
from factories import make_tenant
from ingesthelp import externals, stream

REGIONS = ["DK", "AR", "US", "RU", "CN", "DE", "GB", "BR", "IN", "JP"]
TYPES = [phonenumbers.PhoneNumberType.FIXED_LINE, phonenumbers.PhoneNumberType.MOBILE]
FORMAT = phonenumbers.PhoneNumberFormat


@st.composite
def valid_numbers(draw: st.DrawFn) -> tuple[str, phonenumbers.PhoneNumber]:
    """A valid number of a region: its example number with the last digits replaced."""
    region = draw(st.sampled_from(REGIONS))
    example = phonenumbers.example_number_for_type(region, draw(st.sampled_from(TYPES)))
    assume(example is not None)
    nsn = phonenumbers.national_significant_number(example)
    tail = draw(st.text("0123456789", min_size=4, max_size=4))
    number = phonenumbers.parse(nsn[:-4] + tail, region)
    assume(phonenumbers.is_valid_number(number))
    return region, number


def _form(raw: str, region: str) -> str | None:
    found = party(raw, region)
    return found.form if found is not None else None


@settings(max_examples=400, deadline=None)
@given(valid_numbers(), st.sampled_from(REGIONS))
def test_national_and_international_forms_are_one_party(drawn, elsewhere) -> None:  # type: ignore[no-untyped-def]
    region, number = drawn
    e164 = phonenumbers.format_number(number, FORMAT.E164)
    national = phonenumbers.format_number(number, FORMAT.NATIONAL)
    forms = {
        _form(national, region),  # "(212) 555-0123", "8 (916) 123-45-67", "021 5555 1234"
        _form(re.sub(r"\D", "", national), region),  # digits only
        _form(e164, region),
        _form(phonenumbers.format_number(number, FORMAT.INTERNATIONAL), elsewhere),
        _form(e164, elsewhere),  # an international form reads the same in any region
    }
    assert forms == {"tel:" + e164}


IDD = {r: phonenumbers.PhoneMetadata.metadata_for_region(r).international_prefix for r in REGIONS}


@settings(max_examples=1500, deadline=None)
@given(st.text("0123456789", min_size=1, max_size=15), st.sampled_from(REGIONS))
def test_digits_never_become_a_different_number(digits: str, region: str) -> None:
    found = party(digits, region)
    assert found is not None and found.kind == "phone"
    assert found.lookups[0] == "ext:" + digits  # a directory extension of that name comes first
    if found.unparsed:
        assert found.form == "num:" + digits  # kept as written, never guessed
        return
    number = phonenumbers.parse(found.value)
    assert phonenumbers.is_valid_number(number)
    if not re.match(IDD[region], digits):  # no international prefix: a number of this region
        assert number.country_code == phonenumbers.country_code_for_region(region)
    # written nationally and read in its own region, it is the same number: one subject
    home = phonenumbers.region_code_for_number(number)
    assert _form(phonenumbers.format_number(number, FORMAT.NATIONAL), home) == found.form


@pytest.mark.parametrize(
    ("raw", "region", "form"),
    [
        ("89161234567", "RU", "tel:+79161234567"),  # Russian mobile, national form
        ("02155551234", "CN", "tel:+862155551234"),  # Shanghai
        ("2125551234", "US", "tel:+12125551234"),
        ("01145678901", "AR", "tel:+541145678901"),  # Buenos Aires, with the trunk 0
        ("15123456", "AR", "num:15123456"),  # 8-digit "15..." is no Argentine number
        ("15123456", "DK", "num:15123456"),  # nor a Danish one: never +4515123456
        ("22334455", "DK", "tel:+4522334455"),
        ("004522334455", "DK", "tel:+4522334455"),
        ("+45 22 33 44 55", "AR", "tel:+4522334455"),
        ("+4515123456", "DK", "num:+4515123456"),  # not valid even with its country code
        ("telefon-42", "DK", "sip:telefon-42"),
        ("*1001", "DK", "sip:*1001"),
        ("sip:client1@pbx.example.com", "DK", "sip:client1"),
        ("s", "DK", "sip:s"),
    ],
)
def test_examples_of_the_issue(raw: str, region: str, form: str) -> None:
    assert _form(raw, region) == form


@pytest.mark.parametrize("raw", ["", "  ", "anonymous", "Unknown", "Restricted", "Alice Smith"])
def test_withheld_and_free_text_are_no_party(raw: str) -> None:
    assert party(raw, "DK") is None


def test_normalise_phone_needs_validity_in_the_region() -> None:
    assert normalise_phone("89161234567", "RU") == "+79161234567"
    assert normalise_phone("89161234567", "DK") is None
    assert normalise_phone("01234567", "DK") is None  # a possible length, but no Danish number


# --- through the ingest -----------------------------------------------------------------------


def _call(n: int, caller: str, callee: str) -> str:
    return json.dumps({"id": f"c-{n}", "start": "2026-11-02T10:00:00+01:00", "duration": 5,
                       "caller": caller, "callee": callee, "outcome": "answered"}) + "\n"  # fmt: skip


def _rows(vault):  # type: ignore[no-untyped-def]
    with vault.engine.connect() as conn:
        return conn.execute(select(calls).order_by(calls.c.source_key)).all()


def _kinds(vault) -> dict[str, str]:  # type: ignore[no-untyped-def]
    with vault.engine.connect() as conn:
        return dict(conn.execute(select(subjects.c.subject_id, subjects.c.kind)).all())


# number_since: the users have held their numbers for years, so earlier calls are theirs (issue 12.3).
DIRECTORY = (
    "external_id,name,phone,extension,endpoints,number_since\n"
    'u-1,Ana,+541145678901,2,"telefon-42 client1",2020-01-01\n'
    "u-2,Bruno,+541145678902,8001,,2020-01-01\n"
)


def _one(vault, tenant: str, line: str, **options):  # type: ignore[no-untyped-def]
    """Ingest one call; the report and the row it stored."""
    before = {row.call_id for row in _rows(vault)}
    report = ingest_calls(vault, tenant, stream(line), format="jsonl", **options)
    [row] = [row for row in _rows(vault) if row.call_id not in before]
    return report, row


def _identifier_kind(vault, subject_id: str) -> str:  # type: ignore[no-untyped-def]
    with vault.engine.connect() as conn:
        query = select(subject_identifiers.c.kind).where(
            subject_identifiers.c.subject_id == subject_id
        )
        return str(conn.scalar(query))


def test_a_tenant_reads_numbers_in_its_country(vault) -> None:  # type: ignore[no-untyped-def]
    make_tenant(vault, "ar", collect=["name", "phone", "call_history"], country="AR")
    ingest_subjects(vault, "ar", stream(DIRECTORY), format="csv")
    kinds = _kinds(vault)
    # Ana in national form calls a Buenos Aires number
    report, first = _one(vault, "ar", _call(1, "01145678901", "01155550000"))
    assert (first.direction, kinds[first.caller_subject_id]) == ("outbound", "user")
    assert report.unparsed_numbers == 0
    # the same number, international, calls extension 2 (one digit): one external subject
    _, second = _one(vault, "ar", _call(2, "+541155550000", "2"))
    assert second.caller_subject_id == first.callee_subject_id
    assert second.callee_subject_id == first.caller_subject_id and second.direction == "inbound"
    # an 8-digit "15..." is no number here: an external party under its digits, counted
    report, third = _one(vault, "ar", _call(3, "15123456", "8001"))
    assert report.unparsed_numbers == 1 and report.as_dict()["unparsed_numbers"] == 1
    assert kinds.get(third.caller_subject_id) is None  # new, and not a user
    assert _identifier_kind(vault, third.caller_subject_id) == "phone"
    # Ana's endpoint calls a feature code: an unknown endpoint is an external party
    _, fourth = _one(vault, "ar", _call(4, "telefon-42", "*1001"))
    assert fourth.caller_subject_id == first.caller_subject_id and fourth.direction == "outbound"
    assert _identifier_kind(vault, fourth.callee_subject_id) == "endpoint"
    assert externals(vault) == 3


def test_directions_follow_the_directory(vault) -> None:  # type: ignore[no-untyped-def]
    make_tenant(vault, "ar", collect=["name", "phone", "call_history"], country="AR")
    ingest_subjects(vault, "ar", stream(DIRECTORY), format="csv")
    cases = {
        "outbound": _call(1, "telefon-42", "01155550000"),  # an endpoint's outbound call
        "inbound": _call(2, "+541155550000", "2"),  # to a single-digit extension
        "internal": _call(3, "client1", "8001"),
    }
    for direction, line in cases.items():
        ingest_calls(vault, "ar", stream(line), format="jsonl")
        [row] = [r for r in _rows(vault) if r.direction == direction]
        assert row.caller_subject_id is not None and row.callee_subject_id is not None
    assert externals(vault) == 1  # +541155550000, national and international: one subject


def test_country_of_one_source_overrides_the_tenants(vault) -> None:  # type: ignore[no-untyped-def]
    make_tenant(vault, "acme", collect=["name", "phone", "call_history"])  # DK
    line = _call(1, "89161234567", "+4522334455")
    report = ingest_calls(vault, "acme", stream(line), format="jsonl")
    assert report.unparsed_numbers == 1  # a Russian national number means nothing in DK
    report = ingest_calls(vault, "acme", stream(line.replace("c-1", "c-2")), format="jsonl",
                          country="RU")  # fmt: skip
    assert report.unparsed_numbers == 0
    with pytest.raises(UsageError):
        ingest_calls(vault, "acme", stream(line), format="jsonl", country="XX")


def test_tenant_country_is_checked_and_shown(vault, cli_env, capsys) -> None:  # type: ignore[no-untyped-def]
    from clihelp import run_cli

    with pytest.raises(InvalidInput):
        make_tenant(vault, "bad", country="Argentina")
    added = run_cli(capsys, "tenant", "add", "ru", "--name", "RU", "--collect", "phone,call_history",
                    "--country", "ru", "--json")  # fmt: skip
    assert added.code == 0, added.err
    assert added.json()["country"] == "RU"
    default = run_cli(capsys, "tenant", "add", "dk", "--name", "DK", "--collect", "phone",
                      "--json")  # fmt: skip
    assert default.json()["country"] == "DK"  # the operator's, from the policy
    (cli_env / "cdr.jsonl").write_text(_call(1, "89161234567", "+79161234568"))
    result = run_cli(capsys, "ingest", "calls", "--tenant", "ru", "--format", "jsonl",
                     "cdr.jsonl", "--json")  # fmt: skip
    assert result.code == 0, result.err
    assert result.json()["unparsed_numbers"] == 0
    bad = run_cli(capsys, "ingest", "calls", "--tenant", "ru", "--format", "jsonl", "--country",
                  "ZZ", "cdr.jsonl")  # fmt: skip
    assert bad.code == 2


def test_an_extension_named_later_takes_its_earlier_calls(vault) -> None:  # type: ignore[no-untyped-def]
    make_tenant(vault, "ar", collect=["name", "phone", "call_history"], country="AR")
    _, row = _one(vault, "ar", _call(1, "+541155550000", "2"))
    assert row.direction == "inbound" and externals(vault) == 2  # "2" is nobody's yet
    ingest_subjects(vault, "ar", stream(DIRECTORY), format="csv")  # Ana has extension 2
    [row] = _rows(vault)
    assert _kinds(vault)[row.callee_subject_id] == "user" and externals(vault) == 1
