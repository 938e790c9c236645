"""The phone-number fast path returns exactly what the full phonenumbers parse returns."""

from hypothesis import given, settings
from hypothesis import strategies as st

from callvault.subjects.identifiers import _parse_phone, normalise_phone

REGIONS = st.sampled_from(["DK", "SE", "NO", "DE", "GB", "US", "FR", "IT", "FI"])
DIGITS = st.text("0123456789", min_size=1, max_size=16)
CODES = st.sampled_from(["45", "46", "47", "49", "44", "1", "33", "39", "358", "4", "450", ""])
NUMBERS = st.one_of(
    st.text("0123456789", min_size=8, max_size=8),  # national, any leading digits
    st.builds(lambda c, d: f"+{c}{d}", CODES, DIGITS),
    st.builds(lambda c, d: f"00{c}{d}", CODES, DIGITS),
    st.builds(lambda d: f"+45{d}", st.text("0123456789", min_size=8, max_size=8)),
    st.builds(lambda d: f" 45{d} ", st.text("0123456789", min_size=6, max_size=6)),
    st.text("0123456789+ ٣", max_size=14),
)


def slow(raw: str, region: str) -> str | None:
    text = raw.strip()
    return _parse_phone("+" + text[2:] if text.startswith("00") else text, region)


@settings(max_examples=3000, deadline=None)
@given(NUMBERS, REGIONS)
def test_fast_path_equals_phonenumbers(raw: str, region: str) -> None:
    assert normalise_phone.__wrapped__(raw, region) == slow(raw, region)


def test_fast_path_examples() -> None:
    for raw in ("+4522334455", "004522334455", "22334455", "45123456", "01234567", "+4500000000"):
        assert normalise_phone.__wrapped__(raw, "DK") == slow(raw, "DK")
    assert normalise_phone.__wrapped__("22334455", "SE") == slow("22334455", "SE")
