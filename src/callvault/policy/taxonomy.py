"""Personal data categories: fideslang keys plus callvault's telephony extensions.

Each category has an *identifying* class (GDPR Recital 26: can a person be singled out?):

- ``direct``: identifies a person on its own (name, e-mail, number, a voice recording);
- ``quasi``: identifies in combination (call history: who called whom, when);
- ``none``: cannot single anyone out (anonymous statistics).

fideslang's default taxonomy is the source of truth for the keys it knows (``user.name``,
``user.contact.email``, ``user.contact.phone_number``); callvault adds the keys telephony needs under a
fideslang parent, so that tools speaking fideslang can still place them. Each category also carries its
W3C DPV personal-data IRI, used in the Art. 30 records and JSON-LD exports.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Identifying = Literal["direct", "quasi", "none"]

DPV = "https://w3id.org/dpv#"
DPV_PD = "https://w3id.org/dpv/pd#"


@dataclass(frozen=True)
class Category:
    key: str
    identifying: Identifying
    dpv: str
    label: str
    extension: bool = False  # True: a callvault key that fideslang's default taxonomy does not have

    @property
    def parent(self) -> str:
        return self.key.rsplit(".", 1)[0]


# The categories callvault's code handles by meaning (what a column or identifier is); which of them a
# tenant collects and a purpose uses is data (the profile and the policy), never code.
NAME = "user.name"
EMAIL = "user.contact.email"
PHONE = "user.contact.phone_number"
ORGANISATION = "user.contact.organization"
CALL_HISTORY = "user.behavior.call_history"
VOICEMAIL = "user.content.private.voicemail"
PSEUDONYMOUS_ID = "user.unique_id.pseudonymous"

KNOWN_CATEGORIES: dict[str, Category] = {
    c.key: c
    for c in (
        Category("user.name", "direct", DPV_PD + "Name", "name"),
        Category("user.contact.email", "direct", DPV_PD + "EmailAddress", "e-mail address"),
        Category(
            "user.contact.phone_number", "direct", DPV_PD + "TelephoneNumber", "telephone number"
        ),
        Category(
            "user.behavior.call_history",
            "quasi",
            DPV_PD + "CallLog",
            "call history",
            extension=True,
        ),
        Category(
            "user.content.private.voicemail",
            "direct",
            DPV_PD + "VoiceMail",
            "voicemail",
            extension=True,
        ),
        Category(
            "user.contact.organization", "quasi", DPV_PD + "Organisation", "department/organisation"
        ),
        Category(
            "user.unique_id.pseudonymous", "quasi", DPV_PD + "Identifier", "pseudonymous identifier"
        ),
    )
}

# The directory-export columns that map to a category; everything else is dropped at collection.
COLUMN_CATEGORIES: dict[str, str] = {
    "name": "user.name",
    "email": "user.contact.email",
    "phone": "user.contact.phone_number",
    "extension": "user.contact.phone_number",
    "endpoints": "user.contact.phone_number",  # SIP endpoint / device names: where a phone rings
    "department": "user.contact.organization",
}


# Short names accepted wherever a category is given on the command line.
CATEGORY_ALIASES: dict[str, str] = {
    "name": "user.name",
    "email": "user.contact.email",
    "phone": "user.contact.phone_number",
    "department": "user.contact.organization",
    "call_history": "user.behavior.call_history",
    "voicemail": "user.content.private.voicemail",
}


def category(key: str) -> Category:
    """The category named ``key``; ``KeyError`` when callvault does not know it."""
    return KNOWN_CATEGORIES[key]


def fideslang_keys() -> set[str]:
    """Every data-category key of fideslang's default taxonomy."""
    from fideslang.default_taxonomy import DEFAULT_TAXONOMY

    return {c.fides_key for c in DEFAULT_TAXONOMY.data_category}
