"""Ingesting an Asterisk voicemail spool through the collection gate.

Voicemail is collected only "if your company uses this function" (the policy): a tenant whose
profile does not include ``user.content.private.voicemail`` is refused (PolicyRefusal, exit 3) before
anything is read. Only the spool's voicemail ``context`` given (default ``default``) is read: one PBX
serves several companies through contexts, and mailbox 8001 of another context is another
company's. A message is stored with its mailbox owner (the tenant user whose extension is the
mailbox number, of any length; an unknown mailbox is a row error) and its caller (a user, or an external caller
subject; NULL for ``callerid=Unknown`` or when the tenant does not collect numbers), so that erasure
requested by either can remove it (Art. 17). The recording is AES-GCM encrypted under a content
key split between the owner's and the caller's data keys (:mod:`.voicemail_audio`), so erasure of
either crypto-shreds it, backups included; it is bound to its row (Art. 32(1)(a)). The caller-id
name is dropped.

Like the other ingests: one transaction for the whole spool, re-ingest stores nothing twice
(``source_key`` over the message id), any bad message rejects the whole spool unless skipped.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from sqlalchemy import Connection, insert, select

from callvault.clock import utcnow
from callvault.collection.ingest.bulk import serialise_ingest
from callvault.collection.ingest.parties import Parties, source_region
from callvault.collection.ingest.report import (
    IngestReport,
    Progress,
    Rejects,
    batched,
    check_on_error,
)
from callvault.collection.ingest.voicemail_audio import Party, seal_audio
from callvault.collection.parsers.records import ParsedVoicemail, RowError
from callvault.collection.parsers.voicemail_spool import DEFAULT_CONTEXT, message_name, parse_spool
from callvault.collection.profile import profile, require
from callvault.policy.taxonomy import PHONE, VOICEMAIL
from callvault.retention.rules import held_from
from callvault.store.audit_chain import AuditEntry
from callvault.store.schema.core import subject_identifiers, subjects, voicemails
from callvault.store.schema.voicemail_keys import voicemail_keys
from callvault.subjects.directory import new_id
from callvault.tenants import get_tenant
from callvault.tenants import region as tenant_region
from callvault.vault import Vault

BATCH = 200  # messages per batch: recordings are held in memory until inserted
MAX_AUDIO = 64 * 1024 * 1024  # bytes; a longer "voicemail" is not one


def ingest_voicemail(
    vault: Vault,
    tenant_id: str,
    spool_dir: str | os.PathLike[str],
    *,
    context: str = DEFAULT_CONTEXT,
    country: str | None = None,
    on_error: str = "fail",
    rejects: str | os.PathLike[str] | None = None,
    progress: Progress | None = None,
    actor: str = "operator",
) -> IngestReport:
    """Store the messages of voicemail ``context`` of the spool at ``spool_dir`` for ``tenant_id``;
    callers' national numbers are read in ``country`` (default: the tenant's)."""
    check_on_error(on_error)
    chosen = source_region(country)
    tenant = require(vault, tenant_id, VOICEMAIL, action="collect.voicemail", actor=actor)
    keep_callers = PHONE in profile(vault, tenant)
    region = chosen or tenant_region(vault, tenant)
    messages = parse_spool(spool_dir, context)
    bad = Rejects(on_error, rejects)
    try:
        with vault.transaction() as conn:
            serialise_ingest(conn, tenant_id)
            parties = Parties(vault, conn, tenant_id, create=keep_callers, now=utcnow(),
                              region=region)  # fmt: skip
            report = _Spool(vault, conn, tenant_id, parties, bad, progress).run(messages)
            categories = [VOICEMAIL, *([PHONE] if keep_callers else [])]
            vault.audit(
                conn,
                tenant_id,
                AuditEntry(
                    actor=actor,
                    action="collect.voicemail",
                    categories=categories,
                    details=report.audit_details(context=context, country=region),
                ),
            )
    finally:
        bad.close()
    if bad.count and bad.path is not None:
        report.rejects_path = str(bad.path)
    return report


class _Spool:
    def __init__(
        self,
        vault: Vault,
        conn: Connection,
        tenant_id: str,
        parties: Parties,
        bad: Rejects,
        progress: Progress | None,
    ) -> None:
        self.vault, self.conn, self.tenant_id, self.bad = vault, conn, tenant_id, bad
        self.progress = progress
        self.now = parties.now
        self.parties = parties
        self.report = IngestReport(expired_on_arrival=0)
        self.unparsed = 0  # callers that are digits but no valid number in the region
        # Voicemail past its period is deleted by retention, so nothing of it is kept (Art. 5(1)(e)).
        self.oldest = held_from(vault, get_tenant(conn, tenant_id), self.now)["voicemail"]
        self.owners: dict[str, tuple[str, bytes] | None] = {}  # mailbox -> (subject, data key)

    def run(self, messages: Iterable[ParsedVoicemail | RowError]) -> IngestReport:
        for batch in batched(messages, BATCH):
            good = []
            for item in batch:
                if isinstance(item, RowError):
                    self.bad.add(item)
                else:
                    good.append(item)
            self._store(good)
            if self.progress is not None:
                self.progress(len(batch))
        self.report.rejected = self.bad.count
        self.report.created_subjects = self.parties.created
        self.report.unparsed_numbers = self.unparsed
        return self.report

    def _store(self, good: list[ParsedVoicemail]) -> None:
        keyed: dict[bytes, ParsedVoicemail] = {}
        for message in good:
            if message.caller_name is not None:
                self.report.dropped_fields["caller_name"] += 1
            form = f"src:voicemail:{message.context}/{message.mailbox}:{message.source_id}"
            key = self.parties.index(form)
            if key in keyed:
                self.report.duplicates += 1
            else:
                keyed[key] = message
        if not keyed:
            return
        held = set(
            self.conn.scalars(
                select(voicemails.c.source_key).where(
                    voicemails.c.tenant_id == self.tenant_id,
                    voicemails.c.source_key.in_(list(keyed)),
                )
            )
        )
        self.report.duplicates += len(held)
        fresh = {key: m for key, m in keyed.items() if key not in held}
        current = {key: m for key, m in fresh.items() if m.received_at >= self.oldest}
        expired = len(fresh) - len(current)  # never stored: not even the audio is read
        self.report.expired_on_arrival = (self.report.expired_on_arrival or 0) + expired
        fresh = current
        self._owners({m.mailbox for m in fresh.values()})
        # By number and time: a recycled number's earlier messages stay its previous holder's.
        resolved = self.parties.resolve_at({(m.caller, m.received_at) for m in fresh.values()})
        callers = self._keys({resolved[m.caller, m.received_at][0] for m in fresh.values()})
        rows: list[dict[str, object]] = []
        keys: list[dict[str, object]] = []
        for key, message in fresh.items():
            owner = self.owners.get(message.mailbox)
            name = message_name(message.path)  # not the mailbox: an extension (Art. 5(1)(c))
            if owner is None:
                reason = f"{name} of a mailbox that is no user's extension in this tenant"
                self.bad.add(RowError(None, None, reason))
                continue
            caller, _, unparsed = resolved[message.caller, message.received_at]
            try:
                row, shares = self._row(key, message, owner, caller, callers.get(caller))
            except (OSError, ValueError) as exc:
                reason = f"cannot read the recording: {type(exc).__name__}"
                self.bad.add(RowError(None, name, reason))
            else:
                rows.append(row)
                keys += shares
                self.unparsed += unparsed
        if rows:
            self.conn.execute(insert(voicemails), rows)
            self.conn.execute(insert(voicemail_keys), keys)
            self.report.stored += len(rows)

    def _row(
        self,
        key: bytes,
        message: ParsedVoicemail,
        owner: Party,
        caller: str | None,
        caller_key: Party | None,
    ) -> tuple[dict[str, object], list[dict[str, object]]]:
        voicemail_id = new_id()
        audio = _read_audio(message.audio_path)
        own_key = self.vault.keyring.new_message_key(self.tenant_id, voicemail_id)
        sealed, shares = seal_audio(self.tenant_id, voicemail_id, audio, owner, caller_key, own_key)
        return {
            "tenant_id": self.tenant_id,
            "voicemail_id": voicemail_id,
            "source_key": key,
            "mailbox_subject_id": owner[0],
            "caller_subject_id": caller,
            "received_at": message.received_at,
            "duration_s": message.duration_s,
            "folder": message.folder[:32],
            "audio_format": message.audio_format,
            "audio": sealed,
            "created_at": self.now,
        }, shares

    def _keys(self, ids: set[str | None]) -> dict[str | None, Party]:
        """The callers' data keys (subject id -> (id, key)), for their share of each message."""
        wanted = sorted(i for i in ids if i is not None)
        if not wanted:
            return {}
        deks = self.vault.keyring.deks(self.tenant_id, wanted)
        return {subject_id: (subject_id, dek) for subject_id, dek in deks.items()}

    def _owners(self, mailboxes: set[str]) -> None:
        """Mailbox owners: users whose extension is the mailbox number, with their data keys."""
        wanted = {self.parties.index("ext:" + m): m for m in mailboxes if m not in self.owners}
        for mailbox in wanted.values():
            self.owners[mailbox] = None
        if not wanted:
            return
        si, s = subject_identifiers, subjects
        rows = self.conn.execute(
            select(si.c.blind_index, s.c.subject_id)
            .join(s, (s.c.tenant_id == si.c.tenant_id) & (s.c.subject_id == si.c.subject_id))
            .where(
                si.c.tenant_id == self.tenant_id,
                si.c.blind_index.in_(list(wanted)),
                s.c.kind == "user",
            )
        ).all()
        deks = self.vault.keyring.deks(self.tenant_id, [row.subject_id for row in rows])
        for row in rows:
            if row.subject_id in deks:
                self.owners[wanted[row.blind_index]] = (row.subject_id, deks[row.subject_id])


def _read_audio(path: Path) -> bytes:
    with open(path, "rb") as handle:
        audio = handle.read(MAX_AUDIO + 1)
    if len(audio) > MAX_AUDIO:
        raise ValueError(f"larger than {MAX_AUDIO} bytes")
    return audio


__all__ = ["ingest_voicemail"]
