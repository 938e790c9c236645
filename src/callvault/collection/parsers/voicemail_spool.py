"""An Asterisk voicemail spool (``/var/spool/asterisk/voicemail``), file storage.

Layout, from Asterisk's ``apps/app_voicemail.c``: ``<context>/<mailbox>/<folder>/msgNNNN.txt``
with the audio beside it, one file per configured format: ``msgNNNN.wav`` (wav), ``.WAV``
(wav49) or ``.gsm``. Folders are app_voicemail's ``mailbox_folders``: INBOX, Old, Work, Family,
Friends, Cust1..Cust5, Urgent and Deleted. We skip ``Deleted`` (the subject deleted those; keeping
them would defeat that) and ``tmp`` (recordings in progress), and ignore any other directory and
the greetings (``greet``, ``busy``, ``unavail``) at mailbox level, which are not messages.

``msgNNNN.txt`` is an ini file with one ``[message]`` section::

    origmailbox=201        context=from-external   macrocontext=   exten=s   rdnis=unknown
    priority=2             callerchan=PJSIP/trunk-00000002          callerid="Alice" <4522334455>
    origdate=Tue Mar  5 02:02:11 PM UTC 2024   origtime=1709647331   category=
    msg_id=1709647331-00000001   flag=   duration=12

(one key per line). ``context`` there is the *caller's* dialplan context, not the voicemail
context: context and mailbox are taken from the directory. ``callerid`` is ``"Name" <number>``,
a bare name or number, or ``Unknown``. ``duration`` is written when recording ends.

One PBX serves several customer companies through voicemail contexts (``voicemail.conf``'s
``[default]``, ``[multitenant-1]``, ...): mailbox ``8001`` of one context is not mailbox ``8001`` of
another. So a spool is read one context at a time (``context``, default ``default``); the other
contexts' directories are not even listed.

Bytes that are not UTF-8 make a message bad only when they are in a value we keep (``origtime``,
``duration``, ``msg_id``, the number of ``callerid``); a caller name, ``callerchan`` and the rest
are dropped unread.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

from callvault.clock import utcnow
from callvault.collection.parsers.asterisk_csv import undecodable
from callvault.collection.parsers.records import (
    FUTURE,
    MAX_SECONDS,
    ParsedVoicemail,
    RowError,
    caller_id,
)
from callvault.errors import InvalidInput

FOLDERS: Final = ("INBOX", "Old", "Urgent", "Work", "Family", "Friends",
                  "Cust1", "Cust2", "Cust3", "Cust4", "Cust5")  # fmt: skip
AUDIO_FORMATS: Final = ("wav", "WAV", "gsm")  # preference order when several are stored
MAX_TXT: Final = 64 * 1024  # a message file is a few hundred bytes
DEFAULT_CONTEXT: Final = "default"
#: message keys whose values are kept (callerid: its number part only)
KEPT: Final = frozenset({"origtime", "duration", "msg_id", "callerid"})


def parse_spool(
    root: str | os.PathLike[str], context: str = DEFAULT_CONTEXT
) -> Iterator[ParsedVoicemail | RowError]:
    """Stream the messages of one voicemail ``context`` of a spool in a stable order; a bad one is
    a RowError whose ``pointer`` is ``<folder>/msgNNNN.txt`` (see :func:`message_name`)."""
    root = Path(root)
    if not root.is_dir():
        raise InvalidInput("not a voicemail spool directory", pointer=str(root))
    if not context or context in (".", "..") or "/" in context or "\\" in context:
        raise InvalidInput("a voicemail context is a directory name of the spool", pointer=context)
    if not (root / context).is_dir():
        raise InvalidInput(f"the spool has no voicemail context {context}", pointer=str(root))
    for folder in _folders(root / context):
        for txt in _sorted(folder, lambda e: e.is_file() and _is_message(e.name), "a folder"):
            yield _message(root, Path(txt.path))


def _folders(context: Path) -> Iterator[Path]:
    for mailbox in _sorted(context, os.DirEntry.is_dir, "a context directory"):
        for name in FOLDERS:
            folder = Path(mailbox.path, name)
            if folder.is_dir():
                yield folder


def _sorted(
    path: Path, keep: Callable[[os.DirEntry[str]], bool], what: str
) -> list[os.DirEntry[str]]:
    try:
        with os.scandir(path) as entries:
            return sorted((e for e in entries if keep(e)), key=lambda e: e.name)
    except OSError as exc:
        # not the path: below the spool root it names a mailbox, an extension (Art. 5(1)(c))
        raise InvalidInput(f"cannot list {what}: {exc.strerror}") from None


def _is_message(name: str) -> bool:
    stem = name.removesuffix(".txt")
    return stem != name and stem.startswith("msg") and stem[3:].isdigit() and stem[3:].isascii()


def _message(root: Path, txt: Path) -> ParsedVoicemail | RowError:
    relative = txt.relative_to(root)
    try:
        fields = _read(txt)
        return _voicemail(root, relative, fields)
    except ValueError as exc:
        line = getattr(exc, "line", None)
        return RowError(line, message_name(relative), str(exc))


def message_name(relative: Path) -> str:
    """``INBOX/msg0003.txt``: a message named without its context and mailbox directories.

    The mailbox directory is a user's extension, an identifier; error messages end up in logs
    (Art. 5(1)(c), Art. 32), so they name the folder and message number only.
    """
    return "/".join(relative.parts[-2:])


class BadLine(ValueError):
    def __init__(self, reason: str, line: int | None = None) -> None:
        super().__init__(reason)
        self.line = line


def _read(txt: Path) -> dict[str, str]:
    """The ``[message]`` section of an ini file: key=value lines, ``;`` comments."""
    try:
        with txt.open("rb") as handle:
            data = handle.read(MAX_TXT + 1)
    except OSError as exc:
        raise BadLine(f"unreadable: {exc.strerror}") from None
    if len(data) > MAX_TXT:
        raise BadLine(f"larger than {MAX_TXT} bytes; not a message file")
    fields: dict[str, str] = {}
    section = None
    for number, line in enumerate(data.split(b"\n"), 1):
        text = line.decode("utf-8", "surrogateescape").strip()
        if not text or text[0] in ";#":
            continue
        if text.startswith("[") and text.endswith("]"):
            section = text[1:-1].strip()
        elif "=" not in text:
            raise BadLine("expected key=value", number)
        elif section == "message":
            key, _, value = text.partition("=")
            key, value = key.strip().lower(), value.strip()
            if key in KEPT and undecodable(value if key != "callerid" else _number(value)):
                raise BadLine(f"{key} is not UTF-8 text", number)
            fields[key] = value
    if section is None:
        raise BadLine("no [message] section")
    return fields


def _voicemail(root: Path, relative: Path, fields: dict[str, str]) -> ParsedVoicemail:
    context, mailbox, folder, name = relative.parts
    stem = name.removesuffix(".txt")
    audio = _audio(root / relative.parent, stem)
    caller_name, caller = _caller(fields.get("callerid", ""))
    return ParsedVoicemail(
        path=relative,
        source_id=fields.get("msg_id") or f"{context}/{mailbox}/{folder}/{stem}",
        context=context,
        mailbox=mailbox,
        folder=folder,
        caller=caller,
        caller_name=caller_name,
        received_at=_epoch(fields.get("origtime")),
        duration_s=_duration(fields.get("duration")),
        audio_path=audio,
        audio_format=audio.suffix[1:],
    )


def _audio(folder: Path, stem: str) -> Path:
    for extension in AUDIO_FORMATS:
        path = folder / f"{stem}.{extension}"
        if path.is_file():
            return path
    raise BadLine(f"no audio file ({stem}.wav, .WAV or .gsm) beside it")


def _number(callerid: str) -> str:
    return caller_id(callerid)[1] or ""


def _caller(callerid: str) -> tuple[str | None, str | None]:
    if callerid.strip().lower() in ("", "unknown"):  # app_voicemail's placeholder
        return None, None
    return caller_id(callerid)


def _epoch(text: str | None) -> datetime:
    seconds = _count(text, "origtime")
    try:
        moment = datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):
        raise BadLine("origtime is out of range") from None
    if moment > utcnow() + FUTURE:  # it would never expire (retention counts from it)
        raise BadLine("origtime is more than a day in the future")
    return moment


def _duration(text: str | None) -> int:
    seconds = _count(text, "duration")
    if seconds > MAX_SECONDS:
        raise BadLine(f"duration must be between 0 and {MAX_SECONDS} seconds")
    return seconds


def _count(text: str | None, name: str) -> int:
    if text is None:
        raise BadLine(f"{name} is missing")
    if not (text.isdigit() and text.isascii()):
        raise BadLine(f"{name} must be a non-negative integer")
    return int(text)
