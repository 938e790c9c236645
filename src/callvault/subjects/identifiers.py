"""Normalising identifiers before they are blind-indexed (DESIGN: E.164 numbers, lower-cased e-mails).

The same person must produce the same blind index however a source wrote the value: "+45 22 33 44 55",
"004522334455" and "22334455" (dialled in Denmark) are one number. Each kind carries a prefix so that
values of different kinds can never collide in the index.

A number is read in the *region* of its source (the tenant's country, or the country given for one
ingest): national forms ("089...", "021...", "(212) 555-...") mean something only there. A number
that is not valid in that region is never guessed into another country: it is an *unparsed* number,
kept under its normalised digits (``num:`` form). Extensions and SIP endpoint names are whatever the
tenant's directory says they are (:func:`party`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Final

import phonenumbers

from callvault.errors import InvalidInput

INDEXED_KINDS = ("external_id", "email", "phone", "extension", "endpoint")
ENCRYPTED_KINDS = ("external_id", "name", "email", "phone", "extension", "department", "endpoint")
#: Regions numbers can be read in: ISO 3166-1 alpha-2 codes phonenumbers has metadata for.
REGIONS: Final = frozenset(phonenumbers.SUPPORTED_REGIONS)
NUMBER_KINDS = ("phone", "extension")  # held by a user from a date: numbers are recycled

_EXTENSION = re.compile(r"^[0-9]{1,32}$")  # whatever the directory says, from one digit
_ENDPOINT = re.compile(r"^[^\s,;]{1,128}$")  # a SIP endpoint or device name: one token
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_DIALLED = re.compile(r"^\+?[0-9]+$")
_FORMATTING = str.maketrans("", "", " -()./\u00a0")
#: What PBXs write for a withheld or unknown caller: no party at all.
WITHHELD: Final = frozenset({"anonymous", "unknown", "restricted", "private", "unavailable",
                             "withheld", "<unknown>"})  # fmt: skip


def check_region(code: str) -> str:
    """``code`` upper-cased if it is an ISO 3166-1 alpha-2 region numbers can be read in."""
    region = code.strip().upper()
    if region not in REGIONS:
        raise InvalidInput("country must be an ISO 3166-1 alpha-2 code such as DK, AR or US")
    return region


@lru_cache(maxsize=262_144)  # a tenant's numbers repeat across millions of call records
def normalise_phone(raw: str, region: str = "DK") -> str | None:
    """E.164 form of a telephone number valid when dialled in ``region``, else None.

    International forms (``+54 9 11 ...``) are read as written; ``00``/``011``/``810`` and other
    international prefixes as that region dials them; national forms as that region's numbers.
    """
    try:
        number = phonenumbers.parse(raw.strip(), region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def possible_phone(raw: str, region: str = "DK") -> bool:
    """True when ``raw`` has the length of a number somewhere (for refusing identifiers as names)."""
    try:
        return phonenumbers.is_possible_number(phonenumbers.parse(raw.strip(), region))
    except phonenumbers.NumberParseException:
        return False


def is_extension(raw: str) -> bool:
    return bool(_EXTENSION.match(raw.strip()))


def is_endpoint(raw: str) -> bool:
    return bool(_ENDPOINT.match(raw.strip()))


def normalise_email(raw: str) -> str:
    text = raw.strip().lower()
    if not _EMAIL.match(text):
        raise InvalidInput("not an e-mail address")  # never the value: it ends up in logs
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
            raise InvalidInput(f"not a valid telephone number in {region}")
        return "tel:" + e164
    if kind == "extension":
        return "ext:" + value.strip()
    if kind == "endpoint":
        return "sip:" + value.strip()
    if kind == "email":
        return "mailto:" + normalise_email(value)
    if kind == "external_id":
        return "xid:" + value.strip()
    raise ValueError(f"kind {kind!r} is not blind-indexed")


@dataclass(frozen=True, slots=True)
class Party:
    """How a party of a call record is looked up, and what an external subject for it stores.

    ``lookups`` are index forms in order of precedence: the directory's extension of that name
    first, then the number or endpoint itself. ``form``/``kind``/``value`` are what a new external
    subject is keyed by and stores (encrypted). ``unparsed``: digits not valid as a number here.
    """

    lookups: tuple[str, ...]
    kind: str
    form: str
    value: str
    unparsed: bool = False


@lru_cache(maxsize=262_144)
def party(raw: str, region: str = "DK") -> Party | None:
    """Classify a party as a source wrote it: a number, an extension, or an endpoint name.

    - ``""`` and the withheld markers (``anonymous``, ``unknown``, ...): no party;
    - digits (``+``, spaces, dashes, dots, brackets allowed): the user with that *extension* in the
      directory if there is one (any length), else the number read in ``region`` (``tel:``), else
      the number's digits as written (``num:``, unparsed);
    - anything else (``telefon-42``, ``client1``, ``s``, ``*1001``, ``sip:alice@pbx``): an endpoint
      name, matched against the directory's ``endpoints`` (``sip:``).
    """
    text = raw.strip()
    if text.lower().startswith(("sip:", "sips:")):
        text = text.split(":", 1)[1].split("@", 1)[0].split(";", 1)[0]
    if not text or text.lower() in WITHHELD:
        return None
    digits = text.translate(_FORMATTING)
    if _DIALLED.match(digits) and digits.isascii():
        extension = () if digits.startswith("+") else ("ext:" + digits,)
        e164 = normalise_phone(digits, region)
        if e164 is not None:
            return Party((*extension, "tel:" + e164), "phone", "tel:" + e164, e164)
        return Party((*extension, "num:" + digits), "phone", "num:" + digits, digits, True)
    if not is_endpoint(text):
        return None  # not one token: a caller name or free text, which is not a party
    return Party(("sip:" + text,), "endpoint", "sip:" + text, text)


def lookup_forms(text: str, region: str = "DK") -> list[str]:
    """Every index form a user-given ``--subject`` value may have (e-mail, number, extension, id)."""
    text = text.strip()
    if "@" in text and not text.lower().startswith("sip"):
        return ["mailto:" + text.lower()]
    forms = ["xid:" + text]
    found = party(text, region)
    if found:
        forms += found.lookups
    return forms
