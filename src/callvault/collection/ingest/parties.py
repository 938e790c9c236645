"""Resolving the parties of calls and voicemail to subjects, set-based, inside one transaction.

A party as a source writes it (a number, an extension, a SIP endpoint name) is classified by
:func:`callvault.subjects.identifiers.party` in the source's region and looked up through the blind
index: first as the directory's extension of that name, then as the number (``tel:``, or ``num:``
for digits that are no valid number there) or endpoint (``sip:``). A party the directory does not
know is an **external subject** created on first sight with its own data key, so that erasure and
retention reach external callers too (Art. 17, Art. 5(1)(e)); its number or endpoint name is stored
only encrypted under that key, plus the tenant's blind index. When the tenant does not collect phone
numbers, no external subject is created and the party is stored as NULL (Art. 5(1)(c)).

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
from typing import Any, NamedTuple

from sqlalchemy import Connection

from callvault.collection.ingest.bulk import fetch_in, insert_rows, time_encoder
from callvault.crypto.keyring import field_aad
from callvault.crypto.primitives import blind_indexer
from callvault.errors import InvalidInput, UsageError
from callvault.store.schema.core import subject_identifiers, subjects
from callvault.subjects.directory import new_id
from callvault.subjects.identifiers import Party, check_region, party, prior_form
from callvault.vault import Vault

_CHUNK = 5_000
_SUBJECT_COLUMNS = ("tenant_id", "subject_id", "kind", "created_at", "updated_at")
_LOOKUP = (
    "SELECT i.blind_index, i.subject_id, s.kind, i.since FROM subject_identifiers i JOIN subjects s"
    " ON s.tenant_id = i.tenant_id AND s.subject_id = i.subject_id"
    " WHERE i.tenant_id = {p} AND i.blind_index {in}"
)
_IDENTIFIER_COLUMNS = ("tenant_id", "subject_id", "kind", "slot", "blind_index", "ciphertext")


def source_region(country: str | None) -> str | None:
    """``--country`` checked (UsageError for a code numbers cannot be read in), or None."""
    if country is None:
        return None
    try:
        return check_region(country)
    except InvalidInput as exc:
        raise UsageError(f"--country: {exc.reason}") from None


class Resolved(NamedTuple):
    subject_id: str | None
    is_user: bool
    unparsed: bool  # digits that are no valid number in the region (and no user's extension)


NOBODY = Resolved(None, False, False)


class Parties:
    def __init__(
        self,
        vault: Vault,
        conn: Connection,
        tenant_id: str,
        *,
        create: bool,
        now: datetime,
        region: str,
    ) -> None:
        self.vault, self.conn, self.tenant_id = vault, conn, tenant_id
        self.create, self.now, self.region = create, now, region
        self.index = blind_indexer(vault.keyring.tenant_key(conn, tenant_id, "blind_index"))
        self._found: dict[str, tuple[str | None, bool]] = {}  # form -> (subject id, is a user)
        self._since: dict[str, datetime] = {}  # form -> from when its user holds it
        self._looked_up: set[str] = set()
        self._by_raw: dict[str | None, Resolved] = {None: NOBODY}
        #: party as written -> from when its user holds it (only parties whose user has a date)
        self.since_of: dict[str | None, datetime] = {}
        self._prior_party: dict[str | None, Party] = {}
        self.created = 0

    def resolve(self, raws: Iterable[str | None]) -> dict[str | None, Resolved]:
        """The subject of every party among ``raws`` (a cache: holds earlier batches' too).

        Forms not yet seen are looked up with one SELECT; parties still unknown become externals.
        A party whose user holds its number only from a date gets that date in :attr:`since_of`.
        """
        known = self._by_raw
        fresh = {raw: party(raw, self.region) for raw in raws if raw not in known}
        if not fresh:
            return known
        wanted = {form for p in fresh.values() if p for form in p.lookups}
        wanted -= self._looked_up
        if wanted:
            self._lookup({self.index(form): form for form in wanted})
            self._looked_up |= wanted
        missing: dict[str, Party] = {}
        for p in fresh.values():
            if p is not None and not any(form in self._found for form in p.lookups):
                missing.setdefault(p.form, p)
        if missing and self.create:
            self._create_externals(list(missing.values()))
        for raw, p in fresh.items():
            known[raw] = self._pick(p)
            self._held_since(raw, p)
        return known

    @property
    def known(self) -> dict[str | None, Resolved]:
        """Every party resolved so far in this ingest (read only): what :meth:`resolve` caches."""
        return self._by_raw

    def known_prior(self, raw: str | None) -> Resolved | None:
        """The previous holder of ``raw`` (a party in :attr:`since_of`) if already resolved in
        this ingest, else None (:meth:`prior_holders` finds or creates it)."""
        found = self._found.get(self._prior_party[raw].form)
        return None if found is None else Resolved(*found, False)

    def _pick(self, p: Party | None) -> Resolved:
        if p is None:
            return NOBODY
        for form in p.lookups:
            found = self._found.get(form)
            if found is not None:
                return Resolved(found[0], found[1], p.unparsed and form == p.form)
        return Resolved(None, False, p.unparsed)

    def _held_since(self, raw: str | None, p: Party | None) -> None:
        """Note in :attr:`since_of` (and the previous holder's party in ``_prior_party``) when
        ``raw``'s user holds it only from a date: computed once per party, not once per record."""
        if p is None:
            return
        held = next((form for form in p.lookups if form in self._found), None)
        since = self._since.get(held) if held is not None else None
        if held is None or since is None:
            return
        kind, value = ("extension", held[4:]) if held.startswith("ext:") else (p.kind, p.value)
        form = prior_form(held, since)
        self.since_of[raw] = since
        self._prior_party[raw] = Party((form,), kind, form, value)

    def resolve_at(
        self, pairs: Iterable[tuple[str | None, datetime]]
    ) -> dict[tuple[str | None, datetime], Resolved]:
        """The subject of each (party, moment of the record).

        As :meth:`resolve`, except that a party whose user holds the number only since after the
        moment resolves to the number's previous holder (found or created in one batch)."""
        wanted = set(pairs)
        now = self.resolve({raw for raw, _ in wanted})
        since = self.since_of
        earlier = {raw for raw, moment in wanted if raw in since and moment < since[raw]}
        prior = self.prior_holders(earlier)
        return {
            (raw, moment): prior[raw] if raw in earlier and moment < since[raw] else now[raw]
            for raw, moment in wanted
        }

    def prior_holders(self, raws: Iterable[str | None]) -> dict[str | None, Resolved]:
        """The previous holder of each of ``raws`` (parties in :attr:`since_of`, already resolved),
        for their records from before their user's ``since``: found, or created, in one batch."""
        wanted = {raw: self._prior_party[raw] for raw in raws}
        earlier = {p.form: p for p in wanted.values() if p.form not in self._found}
        if earlier:
            self._lookup({self.index(form): form for form in earlier})
            missing = [p for form, p in earlier.items() if form not in self._found]
            if missing and self.create:
                self._create_externals(missing)
            for p in missing:
                self._found.setdefault(p.form, (None, False))
        return {raw: Resolved(*self._found[p.form], False) for raw, p in wanted.items()}

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
        ids = [new_id() for _ in missing]
        deks = keyring.new_deks(tenant_id, ids)  # in the key store, apart from the data
        for subject_id, p in zip(ids, missing, strict=True):
            dek = deks[subject_id]
            subject_rows.append((tenant_id, subject_id, "external", now, now))
            aad = field_aad(tenant_id, subject_id, f"{p.kind}.0")
            sealed = keyring.encrypt(dek, p.value.encode("utf-8"), aad)
            identifier_rows.append((tenant_id, subject_id, p.kind, 0, self.index(p.form), sealed))
            self._found[p.form] = (subject_id, False)
        insert_rows(self.conn, subjects, _SUBJECT_COLUMNS, subject_rows)
        insert_rows(self.conn, subject_identifiers, _IDENTIFIER_COLUMNS, identifier_rows)
        self.created += len(subject_rows)


def _aware(moment: Any) -> datetime:
    """A raw driver timestamp (naive UTC on both databases, text on SQLite) as aware UTC."""
    value = moment if isinstance(moment, datetime) else datetime.fromisoformat(str(moment))
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value
