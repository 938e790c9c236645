"""Actors: who asks, named by role, never by a personal identifier.

Every gate decision and every change is audited with its actor, and the audit log is hash-chained
and never erased (Art. 5(2), Art. 30): a personal identifier written there could never be erased
again (Art. 17) and would outlive every retention period (Art. 5(1)(e)). So an actor is a *role*,
optionally with a short name: ``operator``, ``support:eng-joe``, ``service:crm``,
``tenant-admin:hr``, ``subject:<surrogate id>``. Anything that looks like an e-mail address or a
telephone number is refused before anything is stored or audited.

:func:`check_ref` applies the same shape rule to other free-text references that reach the audit
log (support tickets); :func:`check_note` keeps e-mail addresses and telephone numbers out of prose
that reaches it (a denial's reason).
"""

from __future__ import annotations

import re
from functools import lru_cache

import phonenumbers

from callvault.errors import InvalidInput
from callvault.subjects.identifiers import possible_phone

__all__ = ["check_actor", "check_note", "check_ref"]

_ACTOR = re.compile(r"^[a-z][a-z0-9_-]*(:[A-Za-z0-9][A-Za-z0-9_.-]{0,63})?$")
_REF = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")
# A role naming a subject by its surrogate id (32 hex digits, subjects.directory.new_id): never a
# number, as a number has at most 20 digits (3 of country code, 17 national) and hex has no
# extension marker, so the costly number check is skipped for the commonest actor of all.
_BY_SURROGATE = re.compile(r"^[a-z][a-z0-9_-]*:[0-9a-f]{32}$")
_EMAIL_IN_TEXT = re.compile(r"[^@\s]+@[^@\s]+")
_REFUSED = "actor must be a role such as support:eng-joe, not a personal identifier"


def _looks_personal(text: str) -> bool:
    return "@" in text or "+" in text or any(ch.isspace() for ch in text)


def check_actor(text: str) -> str:
    """``text`` if it is a role (``role`` or ``role:name``); InvalidInput (exit 5) otherwise.

    The message never quotes the refused value: it may be the identifier we keep out of the log.
    """
    if not isinstance(text, str):
        raise InvalidInput(_REFUSED)
    # The commonest actor, a role naming a subject by its surrogate id: no @, + or space, a role's
    # shape. One regular expression, and kept out of the cache below: one entry per subject would
    # only push the roles that repeat out of it, and grow the heap by one object per new subject.
    if _BY_SURROGATE.fullmatch(text) or _is_role(text):
        return text
    raise InvalidInput(_REFUSED)


@lru_cache(maxsize=4096)  # an act checks its actor twice (the act, its audit entry); roles repeat
def _is_role(text: str) -> bool:
    if _looks_personal(text) or not _ACTOR.match(text):
        return False
    _, _, name = text.partition(":")
    return not (name and possible_phone(name))


def check_ref(text: str, *, field: str) -> str:
    """A reference such as a ticket id (``T-1``, ``INC0012345``): 1-64 of letters, digits, ``_.:-``,
    no e-mail address, no ``+`` number, no whitespace; InvalidInput (exit 5) otherwise."""
    value = text.strip()
    if _looks_personal(value) or not _REF.match(value):
        raise InvalidInput(
            f"{field} must be a reference such as T-1 (letters, digits, '_', '.', ':', '-'), "
            "not a personal identifier"
        )
    return value


def check_note(text: str, *, field: str, region: str = "DK") -> str:
    """Free prose bound for the audit log (a reason), stripped: InvalidInput naming ``field`` (never
    quoting it) when it holds an e-mail address or a telephone number, since the hash-chained log
    can never erase it again (Art. 5(1)(e), 17)."""
    value = text.strip()
    matches = phonenumbers.PhoneNumberMatcher(
        value, region, leniency=phonenumbers.Leniency.POSSIBLE
    )
    if _EMAIL_IN_TEXT.search(value) or matches.has_next():
        raise InvalidInput(
            "must not hold an e-mail address or a telephone number (the audit log keeps it for good)",
            pointer=field,
        )
    return value
