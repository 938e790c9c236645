"""The plain records the collection parsers produce, and the error they yield for a bad row.

A parser knows nothing about tenants, subjects or storage: it turns one source format into
:class:`ParsedCall` / :class:`ParsedVoicemail` values and reports every row it cannot read as a
:class:`RowError`, so the caller decides whether one bad row rejects the whole file or is skipped.

Records keep numbers raw (stripped, not normalised to E.164: that needs the tenant's country and
is the storage layer's job). Source fields that carry free text or identifiers we do not keep
(``clid``, ``channel``, ``lastdata``, ``userfield``, ...) are never copied into a record; only their
*names* are listed in ``dropped_fields`` so the gate can report what it discarded (GDPR Art. 5(1)(c),
data minimisation).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Final

#: The four outcomes a call can have, whatever the source calls them.
OUTCOMES: Final = frozenset({"answered", "no_answer", "busy", "failed"})
#: Longest duration or billsec we take: 31 days. Larger is a corrupt row (and overflows BIGINT).
MAX_SECONDS: Final = 31 * 24 * 3600
#: What every dropped field that is no known field of its source format is counted as: a name the
#: source chose (a JSONL key, a CSV header) may itself be a number, an e-mail address or a name.
OTHER: Final = "other"
#: How far in the future a call may start: clocks drift, but a call dated 9999 would never expire
#: (retention counts from started_at, Art. 5(1)(e)).
FUTURE: Final = timedelta(days=1)


class BadValue(ValueError):
    """A value that does not fit; ``key`` names it (for a JSON pointer). Generic keys from
    :func:`check_call`: ``start``, ``answer``, ``end``, ``duration``, ``billsec``."""

    def __init__(self, key: str, reason: str) -> None:
        super().__init__(reason)
        self.key = key


def check_call(call: ParsedCall, latest: datetime) -> ParsedCall:
    """``call`` if its times and durations are consistent; else BadValue naming the field.

    ``latest`` is the latest acceptable start (now + :data:`FUTURE`).
    """
    start, answer, end = call.started_at, call.answered_at, call.ended_at
    if start > latest:
        raise BadValue("start", "start is more than a day in the future")
    if end is not None and end < start:
        raise BadValue("end", "end is before start")
    if answer is not None and (answer < start or (end is not None and answer > end)):
        raise BadValue("answer", "answer is outside start..end")
    for key, value in (("duration", call.duration_s), ("billsec", call.billsec_s)):
        if not 0 <= value <= MAX_SECONDS:
            raise BadValue(key, f"{key} must be between 0 and {MAX_SECONDS} seconds")
    if call.billsec_s > call.duration_s:
        raise BadValue("billsec", "billsec is longer than duration")
    return call


@dataclass(frozen=True, slots=True)
class ParsedCall:
    """One call record (one leg) as read from a source file."""

    line: int  # 1-based source line; for a JSON document, the (0-based) index in "value"
    source_id: str  # the source's own identity of the record, for de-duplication on re-ingest
    linked_id: str | None  # groups the legs of one call (Asterisk linkedid, FreeSWITCH bleg uuid)
    started_at: datetime  # aware, UTC
    answered_at: datetime | None
    ended_at: datetime | None
    duration_s: int
    billsec_s: int
    caller: str | None  # raw number or extension, as in the source
    callee: str | None
    caller_name: str | None
    outcome: str  # one of OUTCOMES
    dropped_fields: tuple[str, ...]  # known field names of the format, or OTHER; never values
    #: which party is the source's own user, when the format says so (Graph's callType): "caller",
    #: "callee" or None. Ingest uses it to check the numbers against the directory.
    user_side: str | None = None


@dataclass(slots=True)
class _Draft:
    """ParsedCall's twin without ``frozen``: same slots, so it can become a ParsedCall."""

    line: int
    source_id: str
    linked_id: str | None
    started_at: datetime
    answered_at: datetime | None
    ended_at: datetime | None
    duration_s: int
    billsec_s: int
    caller: str | None
    callee: str | None
    caller_name: str | None
    outcome: str
    dropped_fields: tuple[str, ...]
    user_side: str | None


def new_call(
    line: int, source_id: str, linked_id: str | None, started_at: datetime,
    answered_at: datetime | None, ended_at: datetime | None, duration_s: int, billsec_s: int,
    caller: str | None, callee: str | None, caller_name: str | None, outcome: str,
    dropped_fields: tuple[str, ...],
) -> ParsedCall:  # fmt: skip
    """``ParsedCall(...)``, about four times faster: for the parsers' per-row hot path.

    A frozen dataclass sets each field through ``object.__setattr__``, which for 13 fields costs
    more than parsing the CSV row. The unfrozen twin is built instead and its class switched; the
    two have identical slots, so CPython allows it, and the result *is* a frozen ParsedCall.
    """
    draft = _Draft(line, source_id, linked_id, started_at, answered_at, ended_at, duration_s,
                   billsec_s, caller, callee, caller_name, outcome, dropped_fields,
                   None)  # fmt: skip
    draft.__class__ = ParsedCall  # type: ignore[assignment]
    return draft  # type: ignore[return-value]


@dataclass(frozen=True, slots=True)
class ParsedVoicemail:
    """One voicemail message of an Asterisk spool: its ``msgNNNN.txt`` and audio file."""

    path: Path  # of msgNNNN.txt, relative to the spool root
    source_id: str  # msg_id, else context/mailbox/folder/msgNNNN
    context: str  # voicemail context and mailbox come from the directory, not the file
    mailbox: str
    folder: str
    caller: str | None  # the number of callerid; None for "Unknown" or absent
    caller_name: str | None
    received_at: datetime  # aware, UTC (from origtime)
    duration_s: int
    audio_path: Path  # spool root / relative path: openable as given
    audio_format: str  # "wav", "WAV" (wav49) or "gsm": the file extension


@dataclass(frozen=True, slots=True)
class RowError:
    """A row (or message) the parser could not read; it is yielded, never raised.

    ``line`` is the 1-based source line where the row starts (for a voicemail message, the line
    of its ``msgNNNN.txt`` when one is to blame; None for a row of a JSON document). ``pointer`` is
    an RFC 6901 JSON pointer (``/value/3/startDateTime``, or ``/duration`` within a JSONL line) or,
    for a voicemail message, ``<folder>/msgNNNN.txt``. ``reason`` names the field and what is wrong
    with it, never its value: a bad value is as likely a number, an e-mail address or a name as any
    other, and reasons end up in terminals, logs and rejects files.
    """

    line: int | None
    pointer: str | None
    reason: str

    def __str__(self) -> str:
        where = [f"line {self.line}"] if self.line is not None else []
        where += [self.pointer] if self.pointer else []
        return ": ".join([*where, self.reason])


def known(names: Iterable[str], fields: frozenset[str]) -> tuple[str, ...]:
    """``names`` with each name that is not one of the format's ``fields`` replaced by OTHER."""
    return tuple(name if name in fields else OTHER for name in names)


def row_digest(fields: Iterable[str]) -> str:
    """A stable identity for a row without one of its own: a hash of its parsed fields.

    Hashing parsed fields (not bytes) keeps it stable across quoting and line-ending changes.
    The input holds numbers, so the digest is pseudonymous, not anonymous: store it keyed.
    """
    data = "\x1f".join(fields).encode("utf-8", "surrogatepass")
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def caller_id(text: str) -> tuple[str | None, str | None]:
    """Split an Asterisk caller id (``"Alice" <201>``, ``Alice <201>``, ``201``) into name, number.

    Asterisk writes the name between double quotes without escaping inner quotes
    (``ast_callerid_merge``), so the name ends at the last quote.
    """
    text = text.strip()
    number: str | None = None
    lt = text.rfind("<")
    if lt >= 0 and text.endswith(">"):
        number = text[lt + 1 : -1].strip() or None
        text = text[:lt].strip()
    elif not text.startswith('"'):
        # ast_callerid_merge writes a lone name or a lone number bare: tell them apart by shape
        return (None, text) if _dialable(text) else (text or None, None)
    if text.startswith('"'):
        end = text.rfind('"')
        text = text[1:end] if end > 0 else text[1:]
    return text.strip() or None, number


_DIAL_CHARS: Final = frozenset("0123456789+*#-(). ")


def _dialable(text: str) -> bool:
    """True for text shaped like a dialled number or extension (``+45 22 33``, ``201``)."""
    return any(c.isdigit() for c in text) and all(c in _DIAL_CHARS for c in text)
