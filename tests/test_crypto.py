import hmac

import pytest
from hypothesis import given
from hypothesis import strategies as st

from callvault.crypto.master_key import MasterKey
from callvault.crypto.primitives import blind_index, blind_indexer, new_key, open_sealed, seal
from callvault.errors import ConfigError, IntegrityError
from callvault.subjects.identifiers import index_form, lookup_forms, party


def test_sealed_data_opens_only_with_its_key_and_place():
    key = new_key()
    sealed = seal(key, b"+4522334455", b"row-1")
    assert b"4522334455" not in sealed
    assert open_sealed(key, sealed, b"row-1") == b"+4522334455"
    with pytest.raises(IntegrityError):
        open_sealed(key, sealed, b"row-2")
    with pytest.raises(IntegrityError):
        open_sealed(new_key(), sealed, b"row-1")


def test_wrong_master_key_is_a_config_error():
    wrapped = MasterKey(new_key(), source="a").wrap(new_key(), b"x")
    with pytest.raises(ConfigError, match="does not open"):
        MasterKey(new_key(), source="b").unwrap(wrapped, b"x")


def test_master_key_repr_hides_the_key():
    key = new_key()
    assert key.hex() not in repr(MasterKey(key, source="t"))


@pytest.mark.parametrize("written", ["+45 22 33 44 55", "004522334455", "22334455", "+4522334455"])
def test_one_number_one_index_however_written(written):
    key = new_key()
    assert blind_index(key, index_form("phone", written)) == blind_index(
        key, index_form("phone", "+4522334455")
    )


def test_emails_are_case_insensitive_and_kinds_never_collide():
    assert index_form("email", " Alice@Example.DK ") == "mailto:alice@example.dk"
    found = party("201")
    assert found is not None and found.lookups[0] == "ext:201"
    assert "ext:201" in lookup_forms("201")


def test_blind_index_depends_on_the_key():
    assert blind_index(new_key(), "tel:+4522334455") != blind_index(new_key(), "tel:+4522334455")


@given(key=st.binary(min_size=1, max_size=200), value=st.text(max_size=80))
def test_the_blind_index_is_hmac_sha256_truncated(key, value):
    # Keys longer than SHA-256's block are hashed first, as HMAC does (RFC 2104).
    expected = hmac.digest(key, value.encode("utf-8"), "sha256")[:16]
    assert blind_indexer(key)(value) == blind_index(key, value) == expected
