"""What an ingest reports, and what it does with rows it cannot take.

Every ingest ends in one :class:`IngestReport`: rows stored, rows already held (duplicates), rows
rejected and, per source field, how many values the collection gate dropped (GDPR Art. 5(1)(c):
minimisation is counted, never the values). The same counts go into the ingest's audit entry. A
dropped field is named only when it is a known field of the source format; every other name (a
JSONL key, a CSV header) is data the source chose and is counted under ``other``.

A bad row either rejects the whole file (``on_error="fail"``: :class:`~callvault.errors.InvalidInput`
naming the line and field, nothing stored) or is listed in a rejects file with its line, pointer and
reason (``on_error="skip"``). Neither ever quotes a value: messages end up in terminals, logs and
tickets (Art. 5(1)(c), Art. 32); the row itself is in the source file, at the line named.
"""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, cast

from callvault.collection.parsers.records import OTHER, RowError
from callvault.errors import InvalidInput, UsageError

ON_ERROR = ("fail", "skip")
_FIELD_NAME = re.compile(r"^[A-Za-z_@][A-Za-z0-9_.-]{0,63}$")
Progress = Callable[[int], None]  # called with the number of input bytes (or messages) consumed


@dataclass
class IngestReport:
    stored: int = 0
    duplicates: int = 0
    rejected: int = 0
    updated: int = 0  # subjects only: existing subjects whose directory entry changed
    dropped_fields: Counter[str] = field(default_factory=Counter)
    created_subjects: int = 0  # external caller subjects created (calls, voicemail)
    #: calls, voicemail: parties that are digits but no valid number in the source's region, kept
    #: as external parties under their digits; None for an ingest without parties (subjects)
    unparsed_numbers: int | None = None
    rejects_path: str | None = None
    # calls and voicemail only: records already past their period, kept only as retention keeps them
    expired_on_arrival: int | None = None

    def as_dict(self) -> dict[str, Any]:
        """The ``--json`` document (DESIGN: stored, duplicates, rejected, dropped_fields)."""
        shown: dict[str, Any] = {
            "stored": self.stored,
            "duplicates": self.duplicates,
            "rejected": self.rejected,
            "dropped_fields": dict(sorted(safe_names(self.dropped_fields).items())),
        }
        if self.unparsed_numbers is not None:
            shown["unparsed_numbers"] = self.unparsed_numbers
        if self.expired_on_arrival is not None:
            shown["expired_on_arrival"] = self.expired_on_arrival
        return shown

    def audit_details(self, **extra: Any) -> dict[str, Any]:
        """Counts and field names only: an audit entry never holds a value (Art. 5(2))."""
        return {
            **self.as_dict(),
            "updated": self.updated,
            "created_subjects": self.created_subjects,
            **extra,
        }


def safe_names(counts: Counter[str]) -> Counter[str]:
    """The last guard before output and the audit log: a name that is not a plain field name is
    counted under ``other``. Parsers name only their format's known fields already; this keeps a
    mistake there from putting a number or an e-mail address into a log that is never erased."""
    safe: Counter[str] = Counter()
    for name, times in counts.items():
        safe[name if plain_name(name) else OTHER] += times
    return safe


def plain_name(name: str) -> bool:
    """A plain field name: letters first, no ``@``, fewer than five digits."""
    return (
        bool(_FIELD_NAME.match(name)) and "@" not in name[1:] and sum(c.isdigit() for c in name) < 5
    )


def check_on_error(on_error: str) -> str:
    if on_error not in ON_ERROR:
        raise UsageError(f"--on-error takes fail or skip, not {on_error!r}")
    return on_error


class Rejects:
    """Collects bad rows: raises at the first one (``fail``) or writes them to a file (``skip``).

    The rejects file lists, one JSON object a line, the ``line``, ``pointer`` and ``reason`` of each
    bad row, never the row (see the module docstring). It is still made 0600 (it tells which lines
    of a source were bad), only when there is something to write, and never inside the vault.
    """

    def __init__(
        self, on_error: str, path: str | os.PathLike[str] | None, *, append: bool = False
    ) -> None:
        self.on_error = check_on_error(on_error)
        self._append = append  # a follow adds to the rejects of its earlier runs
        self.path = Path(path) if path is not None else None
        self._handle: IO[str] | None = None
        self.count = 0

    def add(self, error: RowError) -> None:
        if self.on_error == "fail":
            raise InvalidInput(
                f"{error.reason} (nothing was stored; --on-error skip stores the valid rows)",
                line=error.line,
                pointer=error.pointer,
            )
        self.count += 1
        if self.path is None:
            return
        if self._handle is None:
            # O_TRUNC keeps the mode of an existing file (it may be 0644): set 0600, then truncate
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT, 0o600)
            os.fchmod(fd, 0o600)
            if self._append:
                os.lseek(fd, 0, os.SEEK_END)
            else:
                os.ftruncate(fd, 0)
            self._handle = os.fdopen(fd, "w", encoding="utf-8")
        record = {"line": error.line, "pointer": error.pointer, "reason": error.reason}
        self._handle.write(json.dumps(record) + "\n")
        if self._append:
            self._handle.flush()

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None


def default_rejects(source: object) -> str | None:
    """``<input>.rejects`` beside a named input file; None for an anonymous stream."""
    name = source if isinstance(source, str | os.PathLike) else getattr(source, "name", None)
    if isinstance(name, str | os.PathLike) and not str(name).startswith("<"):
        return str(name) + ".rejects"
    return None


def count_dropped(counter: Counter[str], groups: Counter[tuple[str, ...]]) -> None:
    """Expand per-layout counts ({("clid", "channel"): 3}) into per-field counts."""
    for names, times in groups.items():
        for name in names:
            counter[name] += times


def counting(stream: IO[bytes], progress: Progress | None) -> IO[bytes]:
    """``stream``, reporting the bytes read to ``progress`` (when there is one)."""
    return stream if progress is None else cast("IO[bytes]", CountingReader(stream, progress))


class CountingReader:
    """A binary stream wrapper that reports how many bytes were read (for the progress bar)."""

    def __init__(self, stream: IO[bytes], progress: Progress | None) -> None:
        self._stream = stream
        self._progress = progress
        self.name = getattr(stream, "name", None)

    def readline(self, size: int = -1) -> bytes:
        data = self._stream.readline(size)
        if self._progress is not None:
            self._progress(len(data))
        return data

    def read(self, size: int = -1) -> bytes:
        data = self._stream.read(size)
        if self._progress is not None:
            self._progress(len(data))
        return data

    def __iter__(self) -> CountingReader:
        return self

    def __next__(self) -> bytes:
        line = self.readline()
        if not line:
            raise StopIteration
        return line


def batched(items: Iterable[Any], size: int) -> Iterable[list[Any]]:
    batch: list[Any] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch
