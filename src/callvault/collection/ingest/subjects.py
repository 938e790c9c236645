"""Ingesting a tenant's users from its directory export, through the collection gate.

Only the columns whose category the tenant collects are stored, encrypted under each user's data
key (Art. 32(1)(a)); every other column is dropped before storage and counted by name (Art. 5(1)(c)).
``external_id`` (the directory's key, so that a re-ingest updates instead of duplicating: Art. 5(1)(d)
accuracy, Art. 16) and ``offboarded_at`` (which starts the profile's retention clock, Art. 5(1)(e))
are always kept.

A re-ingest replaces a user's directory identifiers with those of the row: the export is the
controller's current truth. An identical row is counted as a duplicate and not written. A number,
e-mail, extension or endpoint name that another user holds is a row error; one held by an
*external* subject (seen in calls before the directory) moves to the user. One transaction per file.

Numbers are read in the tenant's country. Extensions are any number of digits: they are whatever
the directory says they are. ``endpoints`` lists a user's SIP endpoint or device names
(``telefon-42``, ``client1``), matched when a call record names a party by its endpoint.
A value with bytes that are not UTF-8 rejects its row when its column is kept, and is dropped like
the rest of its column otherwise; messages name the line and the column, never the value.

Numbers are recycled: a user holds a phone number or extension from ``number_since`` (a column;
default the time of the ingest, and on a re-ingest the date already held for an unchanged number).
Calls and voicemail from before that date stay with the previous holder, the external caller subject,
which keeps the number under its prior form (:func:`callvault.subjects.identifiers.prior_form`); only
later records move to the user (:mod:`callvault.collection.ingest.takeover`). Art. 5(1)(d): one
person's history must not become another's.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Connection, bindparam, delete, insert, select, update

from callvault.clock import parse_instant, utcnow
from callvault.collection.ingest.bulk import serialise_ingest
from callvault.collection.ingest.report import (
    IngestReport,
    Progress,
    Rejects,
    batched,
    check_on_error,
    counting,
    default_rejects,
)
from callvault.collection.ingest.takeover import take_over
from callvault.collection.parsers.asterisk_csv import undecodable
from callvault.collection.parsers.directory import (
    COLUMNS,
    DirectoryRow,
    guess_format,
    read_directory,
    shown,
)
from callvault.collection.parsers.records import RowError
from callvault.collection.profile import profile
from callvault.crypto.keyring import field_aad
from callvault.errors import InvalidInput
from callvault.policy.taxonomy import COLUMN_CATEGORIES
from callvault.store.audit_chain import AuditEntry
from callvault.store.schema.core import subject_identifiers, subjects
from callvault.subjects.directory import identifier_rows, new_id
from callvault.subjects.identifiers import (
    NUMBER_KINDS,
    index_form,
    is_endpoint,
    is_extension,
    normalise_email,
    normalise_phone,
    prior_form,
)
from callvault.tenants import get_tenant, region
from callvault.vault import Vault

BATCH = 5_000
LOOKED_UP = ("email", "phone", "extension", "endpoint")
_SEPARATORS = re.compile(r"[\s,;]+")


@dataclass
class Entry:
    line: int
    #: kind -> value to store (external_id and the collected kinds); several endpoint names are
    #: one value, space-separated, stored one slot each
    values: dict[str, str]
    offboarded_at: datetime | None
    subject_id: str | None = None
    number_since: datetime | None = None  # from when the row's number and extension are the user's


def ingest_subjects(
    vault: Vault,
    tenant_id: str,
    source: IO[bytes] | str | Path,
    *,
    format: str | None = None,
    on_error: str = "fail",
    rejects: str | Path | None = None,
    progress: Progress | None = None,
    actor: str = "operator",
) -> IngestReport:
    """Create or update the tenant's users from a directory export (CSV with header, or JSONL)."""
    check_on_error(on_error)
    with ExitStack() as stack:
        stream: Any = source
        if isinstance(source, str | Path):
            stream = stack.enter_context(open(source, "rb"))
        name = str(source) if isinstance(source, str | Path) else getattr(stream, "name", None)
        rows = read_directory(counting(stream, progress), format or guess_format(name))
        if on_error == "skip" and rejects is None:
            rejects = default_rejects(source if isinstance(source, str | Path) else stream)
        bad = Rejects(on_error, rejects)
        stack.callback(bad.close)
        with vault.transaction() as conn:
            serialise_ingest(conn, tenant_id)
            tenant = get_tenant(conn, tenant_id)
            allowed = profile(vault, tenant)
            kept = tuple(c for c in COLUMN_CATEGORIES if COLUMN_CATEGORIES[c] in allowed)
            report = IngestReport()
            _Directory(vault, conn, tenant_id, kept, bad, report, region(vault, tenant)).run(rows)
            report.rejected = bad.count
            vault.audit(
                conn,
                tenant_id,
                AuditEntry(
                    actor=actor,
                    action="collect.subjects",
                    categories=sorted({COLUMN_CATEGORIES[c] for c in kept}),
                    details=report.audit_details(format=format or guess_format(name)),
                ),
            )
        if bad.count and bad.path is not None:
            report.rejects_path = str(bad.path)
        return report


class _Directory:
    def __init__(
        self,
        vault: Vault,
        conn: Connection,
        tenant_id: str,
        kept: tuple[str, ...],
        bad: Rejects,
        report: IngestReport,
        region: str,
    ) -> None:
        self.vault, self.conn, self.tenant_id = vault, conn, tenant_id
        self.kept, self.bad, self.report = kept, bad, report
        self.region = region
        self.now = utcnow()
        self.seen: dict[str, int] = {}  # index form -> first line (within this file)
        # (external subject, the user taking its number, from when)
        self.taken: list[tuple[str, Entry, datetime]] = []

    def index(self, form: str) -> bytes:
        return self.vault.keyring.index(self.conn, self.tenant_id, form)

    def run(self, rows: Iterable[DirectoryRow | RowError]) -> None:
        for batch in batched(rows, BATCH):
            entries = []
            for row in batch:
                item = row if isinstance(row, RowError) else self.entry(row)
                if isinstance(item, RowError):
                    self.bad.add(item)
                else:
                    entries.append(item)
            self.store(entries)

    # --- the gate: validate what is kept, count what is dropped ---------------------------------
    def entry(self, row: DirectoryRow) -> Entry | RowError:
        values: dict[str, str] = {}
        for column, value in row.values.items():
            if column in self.kept or column in ("external_id", "offboarded_at", "number_since"):
                if undecodable(value):
                    return RowError(row.line, None, f"{column} is not UTF-8 text")
                values[column] = value
            else:
                self.report.dropped_fields[shown(column)] += 1  # never stored (Art. 5(1)(c))
        try:
            offboarded = values.pop("offboarded_at", None)
            since = values.pop("number_since", None)
            entry = Entry(row.line, self._normalised(values), None)
            if offboarded is not None:
                entry.offboarded_at = _instant(offboarded, "offboarded_at")
            if since is not None:
                entry.number_since = _instant(since, "number_since")
        except InvalidInput as exc:
            return RowError(row.line, None, exc.reason)
        except ValueError as exc:
            return RowError(row.line, None, str(exc))
        return self._unique(entry, row)

    def _normalised(self, values: dict[str, str]) -> dict[str, str]:
        if not values.get("external_id"):
            raise ValueError("external_id is missing")
        if len(values["external_id"]) > 200:
            raise ValueError("external_id is longer than 200 characters")
        if "email" in values:
            try:
                values["email"] = normalise_email(values["email"])
            except InvalidInput:
                raise ValueError("email is not an e-mail address") from None
        if "phone" in values:
            e164 = normalise_phone(values["phone"], self.region)
            if e164 is None:
                raise ValueError(f"phone is not a valid telephone number in {self.region}")
            values["phone"] = e164
        if "extension" in values and not is_extension(values["extension"]):
            raise ValueError("extension must be digits (1 to 32)")
        if "endpoints" in values:
            names = list(dict.fromkeys(_SEPARATORS.split(values.pop("endpoints").strip())))
            if not all(is_endpoint(name) for name in names):
                raise ValueError("endpoints must be names of up to 128 characters")
            values["endpoint"] = " ".join(names)
        return values

    def _unique(self, entry: Entry, row: DirectoryRow) -> Entry | RowError:
        forms = self._forms(entry, ("external_id", *LOOKED_UP))
        for kind, form in forms:
            first = self.seen.get(form)
            if first is not None:
                return RowError(row.line, None, f"{kind} repeats line {first}")
        for _, form in forms:
            self.seen[form] = row.line
        return entry

    def _forms(self, entry: Entry, kinds: tuple[str, ...]) -> list[tuple[str, str]]:
        """(kind, index form) of each looked-up value of ``entry`` (one per endpoint name).

        An extension also claims the digits as an unparsed number (``num:``): calls to ``2`` seen
        before the directory named extension 2 are held by an external party under that form.
        """
        forms = []
        for kind in kinds:
            if kind not in entry.values:
                continue
            value = entry.values[kind]
            for item in value.split(" ") if kind == "endpoint" else [value]:
                forms.append((kind, index_form(kind, item, self.region)))
                if kind == "extension":
                    forms.append((kind, "num:" + item))
        return forms

    # --- storage ------------------------------------------------------------------------------
    def store(self, entries: list[Entry]) -> None:
        if not entries:
            return
        existing = self._existing(entries)
        for entry in entries:
            found = existing.get(entry.values["external_id"])
            entry.subject_id = found["subject_id"] if found else None
        entries = self._without_conflicts(entries)
        changed = [e for e in entries if e.subject_id and self._changed(e, existing)]
        new = [e for e in entries if not e.subject_id]
        self.report.duplicates += len(entries) - len(changed) - len(new)
        self._update(changed, existing)
        self._create(new)
        moves = {ext: (e.subject_id, since) for ext, e, since in self.taken if e.subject_id}
        take_over(self.vault, self.conn, self.tenant_id, moves)
        self.taken = []
        self.report.stored += len(changed) + len(new)
        self.report.updated += len(changed)

    def _existing(self, entries: list[Entry]) -> dict[str, dict[str, Any]]:
        """Users already held, by external_id: id, data key, offboarding and decrypted values."""
        by_index = {self.index("xid:" + e.values["external_id"]): e.values["external_id"]
                    for e in entries}  # fmt: skip
        si, s = subject_identifiers, subjects
        rows = self.conn.execute(
            select(si.c.blind_index, s.c.subject_id, s.c.offboarded_at)
            .join(s, (s.c.tenant_id == si.c.tenant_id) & (s.c.subject_id == si.c.subject_id))
            .where(si.c.tenant_id == self.tenant_id, si.c.blind_index.in_(list(by_index)))
        ).all()
        deks = self.vault.keyring.deks(self.tenant_id, [row.subject_id for row in rows])
        found = {
            row.subject_id: {
                "subject_id": row.subject_id,
                "dek": deks[row.subject_id],
                "offboarded_at": row.offboarded_at,
                "values": {},
                "since": {},
            }
            for row in rows
        }
        if found:
            for row in self.conn.execute(
                select(si.c.subject_id, si.c.kind, si.c.slot, si.c.ciphertext, si.c.since)
                .where(si.c.tenant_id == self.tenant_id, si.c.subject_id.in_(list(found)))
                .order_by(si.c.subject_id, si.c.kind, si.c.slot)
            ):
                held = found[row.subject_id]
                aad = field_aad(self.tenant_id, row.subject_id, f"{row.kind}.{row.slot}")
                text = self.vault.keyring.decrypt(held["dek"], row.ciphertext, aad).decode("utf-8")
                earlier = held["values"].get(row.kind)  # several slots: endpoint names
                held["values"][row.kind] = text if earlier is None else f"{earlier} {text}"
                held["since"][row.kind] = row.since
        return {held["values"]["external_id"]: held for held in found.values()}

    def _without_conflicts(self, entries: list[Entry]) -> list[Entry]:
        """Drop rows whose number/e-mail/extension another user holds; take them from externals."""
        forms = {}
        for entry in entries:
            for _, form in self._forms(entry, LOOKED_UP):
                forms[self.index(form)] = entry
        if not forms:
            return entries
        updating = {e.subject_id for e in entries if e.subject_id}
        si, s = subject_identifiers, subjects
        holders = self.conn.execute(
            select(si.c.blind_index, si.c.subject_id, si.c.kind, s.c.kind.label("subject_kind"))
            .join(s, (s.c.tenant_id == si.c.tenant_id) & (s.c.subject_id == si.c.subject_id))
            .where(si.c.tenant_id == self.tenant_id, si.c.blind_index.in_(list(forms)))
        ).all()
        # Skip its own values, and those a user rewritten in this batch gives up.
        others = [
            h for h in holders
            if h.subject_id != forms[h.blind_index].subject_id and h.subject_id not in updating
        ]  # fmt: skip
        refused: set[int] = set()
        for holder in others:
            entry = forms[holder.blind_index]
            if holder.subject_kind != "external" and id(entry) not in refused:
                self.bad.add(RowError(entry.line, None, f"{holder.kind} belongs to another user"))
                refused.add(id(entry))
        released = [
            h for h in others
            if h.subject_kind == "external" and id(forms[h.blind_index]) not in refused
        ]  # fmt: skip
        if released:
            self._release(released, forms)
        return [e for e in entries if id(e) not in refused]

    def _release(self, released: list[Any], forms: dict[bytes, Entry]) -> None:
        """The externals' numbers now go to users: each external keeps its number under the prior
        form of the user's ``since``, so its earlier records stay its own (a recycled number)."""
        rekeyed = []
        for holder in released:
            entry = forms[holder.blind_index]
            since = entry.number_since or self.now  # a number new to this user
            form = index_form(holder.kind, entry.values[holder.kind], self.region)
            rekeyed.append({"b": holder.blind_index, "p": self.index(prior_form(form, since))})
            self.taken.append((holder.subject_id, entry, since))
        si = subject_identifiers
        self.conn.execute(
            update(si)
            .where(si.c.tenant_id == self.tenant_id, si.c.blind_index == bindparam("b"))
            .values(blind_index=bindparam("p")),
            rekeyed,
        )

    def _since(self, entry: Entry, held: dict[str, Any] | None) -> dict[str, datetime | None]:
        """From when the user holds each number kind of ``entry``: the row's ``number_since``,
        else the date already held for an unchanged value, else now."""
        since: dict[str, datetime | None] = {}
        for kind in NUMBER_KINDS:
            if kind not in entry.values:
                continue
            if entry.number_since is not None:
                since[kind] = entry.number_since
            elif held is not None and held["values"].get(kind) == entry.values[kind]:
                since[kind] = held["since"].get(kind)
            else:
                since[kind] = self.now
        return since

    def _changed(self, entry: Entry, existing: dict[str, dict[str, Any]]) -> bool:
        held = existing[entry.values["external_id"]]
        moved = any(held["since"].get(k) != v for k, v in self._since(entry, held).items())
        return (
            held["values"] != entry.values or held["offboarded_at"] != entry.offboarded_at or moved
        )

    def _update(self, changed: list[Entry], existing: dict[str, dict[str, Any]]) -> None:
        if not changed:
            return
        si = subject_identifiers
        ids = [e.subject_id for e in changed]
        self.conn.execute(
            delete(si).where(si.c.tenant_id == self.tenant_id, si.c.subject_id.in_(ids))
        )
        self.conn.execute(
            update(subjects)
            .where(subjects.c.tenant_id == self.tenant_id, subjects.c.subject_id == bindparam("s"))
            .values(updated_at=bindparam("u"), offboarded_at=bindparam("o")),
            [{"s": e.subject_id, "u": self.now, "o": e.offboarded_at} for e in changed],
        )
        rows = []
        for entry in changed:
            assert entry.subject_id is not None
            held = existing[entry.values["external_id"]]
            rows += self._identifiers(
                entry.subject_id, held["dek"], entry, self._since(entry, held)
            )
        self.conn.execute(insert(si), rows)

    def _create(self, new: list[Entry]) -> None:
        if not new:
            return
        subject_rows, rows = [], []
        for entry in new:
            entry.subject_id = new_id()
        deks = self.vault.keyring.new_deks(self.tenant_id, [e.subject_id for e in new])  # type: ignore[misc]
        for entry in new:
            subject_id = entry.subject_id
            assert subject_id is not None
            dek = deks[subject_id]
            subject_rows.append(
                {
                    "tenant_id": self.tenant_id,
                    "subject_id": subject_id,
                    "kind": "user",
                    "created_at": self.now,
                    "updated_at": self.now,
                    "offboarded_at": entry.offboarded_at,
                }
            )
            rows += self._identifiers(subject_id, dek, entry, self._since(entry, None))
        self.conn.execute(insert(subjects), subject_rows)
        self.conn.execute(insert(subject_identifiers), rows)

    def _identifiers(
        self, subject_id: str, dek: bytes, entry: Entry, since: dict[str, datetime | None]
    ) -> list[dict[str, object]]:
        values = {
            kind: value.split(" ") if kind == "endpoint" else [value]
            for kind, value in entry.values.items()
        }
        held = {kind: moment for kind, moment in since.items() if moment is not None}
        return identifier_rows(
            self.vault, self.conn, self.tenant_id, subject_id, dek, values, self.region, held
        )


def _instant(text: str, field: str) -> datetime:
    """An ISO 8601 instant; the error names the field, never the value."""
    try:
        return parse_instant(text, field=field)
    except InvalidInput:
        raise ValueError(f"{field} is not an ISO 8601 date") from None


__all__ = ["COLUMNS", "ingest_subjects"]
