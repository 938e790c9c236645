"""Normalising identifiers before they are blind-indexed (DESIGN: E.164 numbers, lower-cased e-mails).

The same person must produce the same blind index however a source wrote the value: "+45 22 33 44 55",
"004522334455" and "22334455" (in Denmark) are one number. Each kind carries a prefix so that values of
different kinds can never collide in the index.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from functools import lru_cache

import phonenumbers

from callvault.errors import InvalidInput

INDEXED_KINDS = ("external_id", "email", "phone", "extension")
ENCRYPTED_KINDS = ("external_id", "name", "email", "phone", "extension", "department")
NUMBER_KINDS = ("phone", "extension")  # held by a user from a date: numbers are recycled

_EXTENSION = re.compile(r"^\d{2,6}$")  # internal extensions: short digit strings
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@lru_cache(maxsize=262_144)  # a tenant's numbers repeat across millions of call records
def normalise_phone(raw: str, region: str = "DK") -> str | None:
    """E.164 form of a telephone number, or None when ``raw`` is not a valid number."""
    text = raw.strip()
    if text.startswith("00"):
        text = "+" + text[2:]
    return _danish(text, region) or _parse_phone(text, region)


def _danish(text: str, region: str) -> str | None:
    """The E.164 form of ``+45`` + 8 ASCII digits, or of 8 digits dialled in Denmark, without
    phonenumbers (30-45 us a number): exactly what :func:`_parse_phone` returns for them.

    Why it is identical: Denmark's metadata has no national prefix, a single possible length (8)
    and the pattern "[2-9] and 7 digits", so an 8-digit national number is never shortened (not even
    one starting "45") and is always possible; E.164 is then "+45" and the 8 digits as written
    (leading zeros kept). tests/test_identifiers_fast.py compares both paths with hypothesis.
    """
    if len(text) == 11 and text.startswith("+45"):
        digits = text[3:]
    elif len(text) == 8 and region == "DK":
        digits = text
    else:
        return None
    return "+45" + digits if digits.isdigit() and digits.isascii() else None


def _parse_phone(text: str, region: str) -> str | None:
    """The full phonenumbers path."""
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def is_extension(raw: str) -> bool:
    return bool(_EXTENSION.match(raw.strip()))


def normalise_email(raw: str) -> str:
    text = raw.strip().lower()
    if not _EMAIL.match(text):
        raise InvalidInput(f"not an e-mail address: {raw!r}")
    return text


def prior_form(form: str, since: datetime) -> str:
    """The index form of whoever held a number (or extension) before the user who holds it ``since``.

    A recycled number is two people (Art. 5(1)(d)): the previous holder, an external caller subject,
    keeps the calls and voicemail from before ``since`` under this form, so later records from before
    that date find them and never the user, and a later recycling gets a form of its own.
    """
    return f"prior:{since.astimezone(UTC).isoformat()}:{form}"


def index_form(kind: str, value: str, region: str = "DK") -> str:
    """The normalised, kind-prefixed text that is blind-indexed."""
    if kind == "phone":
        e164 = normalise_phone(value, region)
        if e164 is None:
            raise InvalidInput(f"not a telephone number: {value!r}")
        return "tel:" + e164
    if kind == "extension":
        return "ext:" + value.strip()
    if kind == "email":
        return "mailto:" + normalise_email(value)
    if kind == "external_id":
        return "xid:" + value.strip()
    raise ValueError(f"kind {kind!r} is not blind-indexed")


def party_form(raw: str, region: str = "DK") -> tuple[str, str] | None:
    """Classify a party of a call record as (kind, index form): an extension or a number."""
    text = raw.strip()
    if not text:
        return None
    if is_extension(text):
        return "extension", "ext:" + text
    e164 = normalise_phone(text, region)
    return ("phone", "tel:" + e164) if e164 else None


def lookup_forms(text: str, region: str = "DK") -> list[str]:
    """Every index form a user-given ``--subject`` value may have (e-mail, number, extension, id)."""
    text = text.strip()
    if "@" in text:
        return ["mailto:" + text.lower()]
    forms = ["xid:" + text]
    party = party_form(text, region)
    if party:
        forms.append(party[1])
    return forms
