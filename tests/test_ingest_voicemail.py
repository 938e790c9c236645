"""Voicemail through the collection gate: only for tenants that use it, recordings encrypted and
read back only through the processing gate."""

import time
from datetime import timedelta

import pytest
from sqlalchemy import select

from callvault import (
    InvalidInput,
    PolicyRefusal,
    give_consent,
    ingest_subjects,
    ingest_voicemail,
    read_voicemail,
    restrict,
)
from callvault.accountability.audit import entries
from callvault.crypto.keyring import field_aad
from callvault.errors import IntegrityError, NotFound
from callvault.processing.gate import Decision
from callvault.processing.recordings import decrypt_audio
from callvault.store.schema.core import voicemails
from callvault.subjects.directory import shred_subjects, subject_dek
from callvault.vault import Vault
from clihelp import run_cli
from ingesthelp import count, dump, externals, setup_acme, stream
from spool import write_message

# The erasure tests below open recordings directly: they are about keys, not about the gate.
ALLOWED = Decision(True, "test", "test", None, frozenset({"user.content.private.voicemail"}))
# A day ago: within the voicemail period, so the messages are stored (older ones expire on arrival).
RECENT = int(time.time()) - 86_400
AUDIO = b"RIFF\x24\x00\x00\x00WAVEfmt secret-voice-recording-of-carl"


def message(root, mailbox, folder, stem, callerid, msg_id, audio="wav"):
    box = root / "default" / mailbox / folder
    write_message(
        box,
        stem,
        mailbox=mailbox,
        callerid=callerid,
        origtime=RECENT,
        msg_id=msg_id,
        audio_ext=audio,
        audio=AUDIO,
    )


@pytest.fixture
def spool(tmp_path):
    root = tmp_path / "voicemail"
    message(root, "201", "INBOX", "msg0000", '"Carl Caller" <+4550505050>', "1793613731-00000001")
    message(root, "201", "Old", "msg0000", "Unknown", "1793613731-00000002", audio="gsm")
    message(root, "202", "Urgent", "msg0000", '"Alice" <201>', "1793613731-00000003", audio="WAV")
    return root


def _rows(vault):
    with vault.engine.connect() as conn:
        return conn.execute(select(voicemails).order_by(voicemails.c.folder)).all()


def test_messages_are_stored_with_owner_and_caller(vault, spool):
    alice, bob = setup_acme(vault)
    report = ingest_voicemail(vault, "acme", spool)
    assert (report.stored, report.rejected, report.dropped_fields["caller_name"]) == (3, 0, 2)
    inbox, old, urgent = _rows(vault)
    assert inbox.mailbox_subject_id == old.mailbox_subject_id == alice
    assert (urgent.mailbox_subject_id, urgent.caller_subject_id) == (bob, alice)
    assert old.caller_subject_id is None  # callerid=Unknown
    assert inbox.caller_subject_id not in (None, alice, bob) and externals(vault) == 1
    assert (old.audio_format, urgent.audio_format, inbox.duration_s) == ("gsm", "WAV", 12)


def test_audio_is_encrypted_under_owner_and_caller_shares(vault, spool):
    alice, _ = setup_acme(vault)
    ingest_voicemail(vault, "acme", spool)
    inbox = _rows(vault)[0]
    assert AUDIO not in inbox.audio
    with vault.engine.connect() as conn:
        dek = subject_dek(vault, conn, "acme", alice)
        assert decrypt_audio(vault, conn, "acme", inbox.voicemail_id, ALLOWED) == AUDIO
    aad = field_aad("acme", inbox.voicemail_id, "audio")
    with pytest.raises(IntegrityError):  # the owner's key alone no longer opens it
        vault.keyring.decrypt(dek, inbox.audio, aad)
    raw = dump(vault)
    assert b"secret-voice-recording" not in raw and b"4550505050" not in raw


def test_reingest_stores_nothing_twice(vault, spool):
    setup_acme(vault)
    ingest_voicemail(vault, "acme", spool)
    again = ingest_voicemail(vault, "acme", spool)
    assert (again.stored, again.duplicates) == (0, 3) and count(vault, voicemails) == 3


def test_unknown_mailbox_rejects_the_spool(vault, spool):
    setup_acme(vault)
    message(spool, "299", "INBOX", "msg0000", "Unknown", "1793613731-00000009")
    with pytest.raises(InvalidInput, match=r"INBOX/msg0000\.txt of a mailbox that is no") as caught:
        ingest_voicemail(vault, "acme", spool)
    assert "299" not in str(caught.value)  # the mailbox is an extension: not in logs
    assert count(vault, voicemails) == 0 and externals(vault) == 0


def test_refused_without_voicemail_in_the_profile(vault, spool):
    setup_acme(vault, collect=["name", "phone", "call_history"])
    with pytest.raises(PolicyRefusal, match="voicemail"):
        ingest_voicemail(vault, "acme", spool)


def test_cli_refusal_exit_3_and_json(vault, cli_env, capsys, spool):
    setup_acme(vault)
    result = run_cli(capsys, "ingest", "voicemail", "--tenant", "acme", str(spool), "--json")
    assert result.code == 0, result.err
    assert result.json()["stored"] == 3
    assert run_cli(capsys, "tenant", "show", "acme", "--json").json()["counts"]["voicemails"] == 3
    setup_acme_without = run_cli(capsys, "tenant", "add", "beta", "--name", "Beta",
                                 "--collect", "name,phone,call_history")  # fmt: skip
    assert setup_acme_without.code == 0
    refused = run_cli(capsys, "ingest", "voicemail", "--tenant", "beta", str(spool))
    assert refused.code == 3 and "voicemail" in refused.err


def test_erasing_either_party_crypto_shreds_the_recording(vault, spool):
    alice, _ = setup_acme(vault)
    ingest_voicemail(vault, "acme", spool)
    inbox = _rows(vault)[0]  # from the external caller +4550505050 to Alice's mailbox
    assert inbox.caller_subject_id is not None
    with vault.transaction() as conn:
        shred_subjects(vault, conn, "acme", [inbox.caller_subject_id])
    with vault.engine.connect() as conn, pytest.raises(IntegrityError):
        decrypt_audio(vault, conn, "acme", inbox.voicemail_id, ALLOWED)
    old = _rows(vault)[1]  # callerid=Unknown: the owner's share only
    with vault.engine.connect() as conn:
        assert decrypt_audio(vault, conn, "acme", old.voicemail_id, ALLOWED) == AUDIO
    with vault.transaction() as conn:
        shred_subjects(vault, conn, "acme", [alice])
    with vault.engine.connect() as conn:
        for row in (inbox, old):
            with pytest.raises(IntegrityError):
                decrypt_audio(vault, conn, "acme", row.voicemail_id, ALLOWED)
        with pytest.raises(NotFound):
            decrypt_audio(vault, conn, "other", old.voicemail_id, ALLOWED)


def test_user_taking_the_callers_number_takes_the_voicemail_and_its_share(vault, spool):
    setup_acme(vault)
    ingest_voicemail(vault, "acme", spool)
    external = _rows(vault)[0].caller_subject_id
    directory = "external_id,name,phone,number_since\nu-9,Carl Caller,+4550505050,2026-01-01\n"
    ingest_subjects(vault, "acme", stream(directory), format="csv")
    inbox = _rows(vault)[0]
    assert inbox.caller_subject_id not in (None, external)
    with vault.engine.connect() as conn:
        assert decrypt_audio(vault, conn, "acme", inbox.voicemail_id, ALLOWED) == AUDIO
    assert externals(vault) == 0  # the external is shredded; the recording stays readable


def _read(vault, voicemail_id, purpose="personalisation", subject="alice@acme.dk", at=None):
    return read_voicemail(vault, "acme", subject, voicemail_id, purpose, "service:app", at=at)


def _audio_reads(vault):
    with vault.engine.connect() as conn:
        return list(entries(conn, "acme", action="read.voicemail"))


def test_audio_is_read_only_through_the_gate_and_audited(vault, tmp_path):
    """Issue 12.4: open_audio had no purpose, no decision, no audit entry, no restriction check."""
    alice, _ = setup_acme(vault)
    root = tmp_path / "recent"
    write_message(root / "default" / "201" / "INBOX", "msg0000", mailbox="201",
                  callerid="<+4550505050>", origtime=int(time.time()) - 3600,
                  msg_id="1-1", audio_ext="wav", audio=AUDIO)  # fmt: skip
    ingest_voicemail(vault, "acme", root)
    (inbox,) = _rows(vault)
    with pytest.raises(PolicyRefusal, match="no consent"):
        _read(vault, inbox.voicemail_id)
    for other in ("error_diagnosis", "customer_service"):  # purposes without voicemail
        with pytest.raises(PolicyRefusal):
            _read(vault, inbox.voicemail_id, purpose=other)
    give_consent(vault, "acme", alice, "personalisation")
    assert _read(vault, inbox.voicemail_id) == AUDIO
    restrict(vault, "acme", alice, actor=f"subject:{alice}")
    with pytest.raises(PolicyRefusal, match="restricted"):
        _read(vault, inbox.voicemail_id)
    reads = _audio_reads(vault)
    assert sorted(e["outcome"] for e in reads) == ["allow"] + ["deny"] * 4
    assert {e["subject_id"] for e in reads} == {alice}
    assert {e["details"]["voicemail"] for e in reads} == {inbox.voicemail_id}
    assert "secret-voice" not in str(reads) and "4550505050" not in str(reads)


def test_audio_only_of_the_mailbox_owner_and_within_its_period(vault, spool):
    alice, bob = setup_acme(vault)
    ingest_voicemail(vault, "acme", spool)
    inbox, _, urgent = _rows(vault)
    at = inbox.received_at + timedelta(days=1)
    give_consent(vault, "acme", alice, "personalisation", at=inbox.received_at)
    with pytest.raises(NotFound):  # Bob's mailbox, read as Alice
        _read(vault, urgent.voicemail_id, at=at)
    with pytest.raises(NotFound):  # Alice's voicemail, read as Bob
        _read(vault, inbox.voicemail_id, subject=bob, at=at)
    with pytest.raises(NotFound, match="retention"):  # retention has not run: still never served
        _read(vault, inbox.voicemail_id, at=inbox.received_at + timedelta(days=31))
    assert _audio_reads(vault) == []


def test_decrypting_needs_an_allowed_decision(vault, spool):
    setup_acme(vault)
    ingest_voicemail(vault, "acme", spool)
    inbox = _rows(vault)[0]
    denied = Decision(False, "no", "consent.missing", "consent")
    calls_only = Decision(True, "allowed", "p", None, frozenset({"user.behavior.call_history"}))
    with vault.engine.connect() as conn:
        for decision in (denied, calls_only):
            with pytest.raises(PolicyRefusal):
                decrypt_audio(vault, conn, "acme", inbox.voicemail_id, decision)


def test_a_backup_holds_no_readable_recording_once_retention_deleted_it(vault, spool, tmp_path):
    """Review finding (issue 11): every message has its own key in the key store, destroyed when
    retention deletes the message, so a copy of the data taken before cannot play it back."""
    from datetime import UTC, datetime, timedelta

    from callvault.retention.run import run_retention
    from test_keystore import _backup, _drop, _restore

    setup_acme(vault)
    ingest_voicemail(vault, "acme", spool)
    rows = _rows(vault)
    url = vault.engine.url.render_as_string(hide_password=False)
    backup = _backup(url, tmp_path)
    run_retention(vault, as_of=datetime.now(UTC) + timedelta(days=60))
    assert _rows(vault) == []
    restored_url = _restore(backup, url, tmp_path)
    restored = Vault.open(restored_url, master_key=vault.keyring.master)
    try:
        with restored.engine.connect() as conn:
            for row in rows:  # the unknown caller's and a colleague's messages too
                with pytest.raises(IntegrityError):
                    decrypt_audio(restored, conn, "acme", row.voicemail_id, ALLOWED)
    finally:
        restored.close()
        _drop(restored_url)
