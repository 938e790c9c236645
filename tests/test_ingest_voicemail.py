"""Voicemail through the collection gate: only for tenants that use it, recordings encrypted."""

import time

import pytest
from sqlalchemy import select

from callvault import InvalidInput, PolicyRefusal, ingest_subjects, ingest_voicemail
from callvault.collection.ingest.voicemail_audio import open_audio
from callvault.crypto.keyring import field_aad
from callvault.errors import IntegrityError, NotFound
from callvault.store.schema.core import voicemails
from callvault.subjects.directory import shred_subjects, subject_dek
from clihelp import run_cli
from ingesthelp import count, dump, externals, setup_acme, stream
from spool import write_message

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
        assert open_audio(vault, conn, "acme", inbox.voicemail_id) == AUDIO
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
        open_audio(vault, conn, "acme", inbox.voicemail_id)
    old = _rows(vault)[1]  # callerid=Unknown: the owner's share only
    with vault.engine.connect() as conn:
        assert open_audio(vault, conn, "acme", old.voicemail_id) == AUDIO
    with vault.transaction() as conn:
        shred_subjects(vault, conn, "acme", [alice])
    with vault.engine.connect() as conn:
        for row in (inbox, old):
            with pytest.raises(IntegrityError):
                open_audio(vault, conn, "acme", row.voicemail_id)
        with pytest.raises(NotFound):
            open_audio(vault, conn, "other", old.voicemail_id)


def test_user_taking_the_callers_number_takes_the_voicemail_and_its_share(vault, spool):
    setup_acme(vault)
    ingest_voicemail(vault, "acme", spool)
    external = _rows(vault)[0].caller_subject_id
    directory = "external_id,name,phone,number_since\nu-9,Carl Caller,+4550505050,2026-01-01\n"
    ingest_subjects(vault, "acme", stream(directory), format="csv")
    inbox = _rows(vault)[0]
    assert inbox.caller_subject_id not in (None, external)
    with vault.engine.connect() as conn:
        assert open_audio(vault, conn, "acme", inbox.voicemail_id) == AUDIO
    assert externals(vault) == 0  # the external is shredded; the recording stays readable
