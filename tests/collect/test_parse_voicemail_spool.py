"""An Asterisk voicemail spool directory, built as app_voicemail lays it out."""

from __future__ import annotations

from pathlib import Path

import pytest

from callvault.collection.parsers.records import ParsedVoicemail, RowError
from callvault.collection.parsers.voicemail_spool import parse_spool
from callvault.errors import InvalidInput
from spool import write_message


def message(folder: Path, stem: str, audio: str | None = "wav", **values: str) -> None:
    write_message(folder, stem, audio_ext=audio, **values)


@pytest.fixture
def spool(tmp_path: Path) -> Path:
    box = tmp_path / "default" / "201"
    message(box / "INBOX", "msg0000")
    message(box / "Old", "msg0000", audio="gsm", callerid="Unknown", msg_id="")
    message(box / "tmp", "msg0000")  # still recording
    message(box / "Deleted", "msg0000")  # the user deleted it
    (box / "busy.wav").write_bytes(b"RIFF")  # a greeting, not a message
    return tmp_path


def test_messages_of_a_mailbox(spool: Path) -> None:
    inbox, old = parse_spool(spool)
    assert isinstance(inbox, ParsedVoicemail) and isinstance(old, ParsedVoicemail)
    assert (inbox.context, inbox.mailbox, inbox.folder) == ("default", "201", "INBOX")
    assert (inbox.caller, inbox.caller_name) == ("4522334455", "Alice")
    assert inbox.received_at.isoformat() == "2024-03-05T14:02:11+00:00"
    assert (inbox.duration_s, inbox.audio_format) == (12, "wav")
    assert inbox.source_id == "1709647331-00000001"
    assert inbox.path == Path("default/201/INBOX/msg0000.txt")
    assert inbox.audio_path == spool / "default/201/INBOX/msg0000.wav"


def test_unknown_caller_and_no_msg_id(spool: Path) -> None:
    _, old = parse_spool(spool)
    assert isinstance(old, ParsedVoicemail)
    assert (old.caller, old.caller_name, old.audio_format) == (None, None, "gsm")
    assert old.source_id == "default/201/Old/msg0000"


def test_message_without_audio_is_invalid(tmp_path: Path) -> None:
    message(tmp_path / "default" / "202" / "Urgent", "msg0003", audio=None)
    [error] = parse_spool(tmp_path)
    assert isinstance(error, RowError) and error.pointer == "Urgent/msg0003.txt"
    assert "no audio" in error.reason


@pytest.mark.parametrize(
    ("text", "line", "reason"),
    [
        ("[message]\norigtime=soon\nduration=3\n", None, "origtime"),
        ("[message]\norigtime=1709647331\n", None, "duration is missing"),
        ("[message]\ncallerid\n", 2, "key=value"),
        ("origtime=1\n", None, "[message]"),
    ],
)
def test_bad_message_file(tmp_path: Path, text: str, line: int | None, reason: str) -> None:
    folder = tmp_path / "default" / "201" / "INBOX"
    message(folder, "msg0000")
    (folder / "msg0000.txt").write_text(text)
    [error] = parse_spool(tmp_path)
    assert isinstance(error, RowError) and error.line == line and reason in error.reason


def test_not_a_directory(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput):
        list(parse_spool(tmp_path / "missing"))
