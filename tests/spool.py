"""Writing Asterisk voicemail spool messages as app_voicemail lays them out (msgNNNN.txt + audio)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from callvault.cli.demo_data import MESSAGE_TXT


def write_message(
    folder: Path,
    stem: str = "msg0000",
    *,
    mailbox: str = "201",
    callerid: str = '"Alice" <4522334455>',
    origtime: int = 1709647331,
    msg_id: str | None = None,
    audio_ext: str | None = "wav",
    audio: bytes = b"RIFF",
) -> None:
    """One message in ``folder`` (…/<context>/<mailbox>/<INBOX|Old|…>); no audio when ``audio_ext``
    is None. ``msg_id`` defaults to Asterisk's ``<origtime>-00000001``."""
    folder.mkdir(parents=True, exist_ok=True)
    origdate = datetime.fromtimestamp(origtime, UTC).strftime("%a %b %e %I:%M:%S %p UTC %Y")
    values = {
        "mailbox": mailbox,
        "callerid": callerid,
        "origdate": origdate,
        "origtime": origtime,
        "msg_id": f"{origtime}-00000001" if msg_id is None else msg_id,
    }
    (folder / f"{stem}.txt").write_text(MESSAGE_TXT.format(**values, duration=12))
    if audio_ext:
        (folder / f"{stem}.{audio_ext}").write_bytes(audio)
