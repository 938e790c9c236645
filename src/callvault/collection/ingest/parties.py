"""Resolving the parties of calls and voicemail to subjects, set-based, inside one transaction.

A party (a number or an extension) is either a tenant's user, found through the blind index, or an
**external caller subject** created on first sight with its own data key, so that erasure and
retention reach external callers too (Art. 17, Art. 5(1)(e)). Its number is stored only encrypted
under that key, plus the tenant's blind index. When the tenant does not collect phone numbers, no
external subject is created and the party is stored as NULL (Art. 5(1)(c)).

Each batch costs one SELECT for its not yet known forms and one INSERT per table for new externals;
a form resolved once stays cached for the rest of the file.

A user holds a number from a date (``subject_identifiers.since``; numbers are recycled). A record
from before that date is not the user's: :meth:`Parties.resolve_at` gives it to the number's previous
holder, an external subject found (or created) under the prior form of the number
(:func:`callvault.subjects.identifiers.prior_form`), so it is never shown to the user (Art. 5(1)(d)).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection

from callvault.collection.ingest.bulk import fetch_in, insert_rows, time_encoder
from callvault.crypto.keyring import field_aad
from callvault.crypto.primitives import blind_index
from callvault.store.schema.core import subject_identifiers, subjects
from callvault.subjects.directory import new_id, vault_region
from callvault.subjects.identifiers import party_form, prior_form
from callvault.vault import Vault

_CHUNK = 5_000
Party = tuple[str, str, str]  # (kind, index form, stored value)
_SUBJECT_COLUMNS = ("tenant_id", "subject_id", "kind", "wrapped_dek", "created_at", "updated_at")
_LOOKUP = (
    "SELECT i.blind_index, i.subject_id, s.kind, i.since FROM subject_identifiers i JOIN subjects s"
    " ON s.tenant_id = i.tenant_id AND s.subject_id = i.subject_id"
    " WHERE i.tenant_id = {p} AND i.blind_index {in}"
)
_IDENTIFIER_COLUMNS = ("tenant_id", "subject_id", "kind", "slot", "blind_index", "ciphertext")


class Parties:
    def __init__(
        self, vault: Vault, conn: Connection, tenant_id: str, *, create: bool, now: datetime
    ) -> None:
        self.vault, self.conn, self.tenant_id = vault, conn, tenant_id
        self.create, self.now = create, now
        self.region = vault_region(vault)
        self._key = vault.keyring.tenant_key(conn, tenant_id, "blind_index")
        self._forms: dict[str, Party | None] = {}
        self._found: dict[str, tuple[str | None, bool]] = {}  # form -> (subject id, is a user)
        self._since: dict[str, datetime] = {}  # form -> from when its user holds it
        self._by_raw: dict[str | None, tuple[str | None, bool]] = {None: (None, False)}
        self.created = 0

    def form(self, raw: str) -> Party | None:
        try:
            return self._forms[raw]
        except KeyError:
            pass
        classified = party_form(raw, self.region)
        party = (classified[0], classified[1], classified[1][4:]) if classified else None
        self._forms[raw] = party
        return party

    def index(self, form: str) -> bytes:
        return blind_index(self._key, form)

    def resolve(self, raws: Iterable[str | None]) -> dict[str | None, tuple[str | None, bool]]:
        """(subject id or None, is a tenant user) for every party among ``raws``.

        Unknown forms are looked up with one SELECT; those still missing become external subjects.
        """
        known = self._by_raw
        fresh = {raw for raw in raws if raw not in known}
        if not fresh:
            return known
        wanted: dict[str, Party] = {}
        for raw in fresh:
            party = self.form(raw) if raw is not None else None
            if party is not None and party[1] not in self._found:
                wanted[party[1]] = party
        if wanted:
            self._lookup({self.index(form): form for form in wanted})
            missing = [wanted[form] for form in wanted if form not in self._found]
            if missing and self.create:
                self._create_externals(missing)
            for party in missing:
                self._found.setdefault(party[1], (None, False))
        for raw in fresh:
            party = self.form(raw) if raw is not None else None
            known[raw] = self._found[party[1]] if party is not None else (None, False)
        return known

    def resolve_at(
        self, pairs: Iterable[tuple[str | None, datetime]]
    ) -> dict[tuple[str | None, datetime], tuple[str | None, bool]]:
        """(subject id or None, is a tenant user) of each (party, moment of the record).

        As :meth:`resolve`, except that a party whose user holds the number only since after the
        moment resolves to the number's previous holder (found or created in one batch)."""
        wanted = set(pairs)
        now = self.resolve({raw for raw, _ in wanted})
        prior = {pair: self._prior(pair) for pair in wanted}
        earlier = {p[1]: p for p in prior.values() if p is not None and p[1] not in self._found}
        if earlier:
            self._lookup({self.index(form): form for form in earlier})
            missing = [earlier[form] for form in earlier if form not in self._found]
            if missing and self.create:
                self._create_externals(missing)
            for party in missing:
                self._found.setdefault(party[1], (None, False))
        return {
            pair: now[pair[0]] if party is None else self._found[party[1]]
            for pair, party in prior.items()
        }

    def _prior(self, pair: tuple[str | None, datetime]) -> Party | None:
        """The previous holder's party when the record predates its user's ``since``, else None."""
        raw, moment = pair
        party = self.form(raw) if raw is not None else None
        since = self._since.get(party[1]) if party is not None else None
        if party is None or since is None or moment >= since:
            return None
        return (party[0], prior_form(party[1], since), party[2])

    def _lookup(self, by_index: dict[bytes, str]) -> None:
        keys = list(by_index)
        for start in range(0, len(keys), _CHUNK):
            rows = fetch_in(self.conn, _LOOKUP, self.tenant_id, keys[start : start + _CHUNK])
            for index, subject_id, kind, since in rows:
                form = by_index[bytes(index)]
                self._found[form] = (subject_id, kind == "user")
                if since is not None and kind == "user":
                    self._since[form] = _aware(since)

    def _create_externals(self, missing: list[Party]) -> None:
        keyring, tenant_id = self.vault.keyring, self.tenant_id
        now = time_encoder(self.conn)(self.now)
        subject_rows, identifier_rows = [], []
        for kind, form, value in missing:
            subject_id = new_id()
            dek, wrapped = keyring.new_dek(tenant_id, subject_id)
            subject_rows.append((tenant_id, subject_id, "external", wrapped, now, now))
            aad = field_aad(tenant_id, subject_id, f"{kind}.0")
            sealed = keyring.encrypt(dek, value.encode("utf-8"), aad)
            identifier_rows.append((tenant_id, subject_id, kind, 0, self.index(form), sealed))
            self._found[form] = (subject_id, False)
        insert_rows(self.conn, subjects, _SUBJECT_COLUMNS, subject_rows)
        insert_rows(self.conn, subject_identifiers, _IDENTIFIER_COLUMNS, identifier_rows)
        self.created += len(subject_rows)


def _aware(moment: Any) -> datetime:
    """A raw driver timestamp (naive UTC on both databases, text on SQLite) as aware UTC."""
    value = moment if isinstance(moment, datetime) else datetime.fromisoformat(str(moment))
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value
