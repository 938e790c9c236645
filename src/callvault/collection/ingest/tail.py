"""Reading the new complete lines of a growing CSV file, across rotation and truncation.

A position is the file's identity (``dev``, ``ino``), the byte ``offset`` read up to and the
number of ``line``s before it. Only whole lines (ending in a newline) are taken: a line being
written is left for the next read.

- Rotation (``Master.csv`` renamed to ``Master.csv.1`` and a new ``Master.csv`` begun): when the
  path names another file, the old one is read to its end first, then the new one from its start.
  After a restart, the old file is found by its identity among the path's siblings.
- The first start (no checkpoint yet) reads the path's current file from its start; files
  rotated away before it are not followed (ingest them once with ``ingest calls FILE``).
- Truncation (same file, now shorter than the offset): read again from the start.
- A format with a header row (Kamailio's CSV export): the header is read once per file and put in
  front of every batch, so the parser sees a whole table each time.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any, Final

CHUNK: Final = 4 << 20  # bytes read per batch at most
_NOT_CSV: Final = (".rejects", ".gz", ".bz2", ".xz", ".zst")


@dataclass
class Position:
    dev: int
    ino: int
    offset: int = 0
    line: int = 0  # lines before offset

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Batch:
    data: bytes  # whole lines, with the header in front when the format has one
    first_line: int  # the file line of data's first line that is not the header
    position: Position  # where the next batch starts: save it with this batch's records
    header: bool  # True when data begins with a header line that is not from this offset


class Tail:
    def __init__(self, path: str | Path, position: dict[str, Any] | None, *, header: bool) -> None:
        self.path = Path(path)
        self._header = header
        self._file: IO[bytes] | None = None
        self._old = False  # reading a rotated file to its end before the path's new file
        self.position = Position(**position) if position else None

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def read(self, limit: int = CHUNK) -> Batch | None:
        """The next whole lines (None when there are none yet)."""
        if self._file is None and not self._open():
            return None
        assert self._file is not None and self.position is not None
        position = self.position
        self._file.seek(position.offset)
        data = self._file.read(limit)
        end = data.rfind(b"\n") + 1
        if end == 0 and data and self._old and len(data) < limit:
            end = len(data)  # the rotated file's last line will never be completed
        if end == 0:
            return self.read(limit) if self._turn() else None
        data = data[:end]
        lines = data.count(b"\n") + (0 if data.endswith(b"\n") else 1)
        after = Position(position.dev, position.ino, position.offset + end, position.line + lines)
        head = self._head() if self._header and position.offset > 0 else b""
        return Batch(head + data, position.line + 1, after, bool(head))

    def advance(self, position: Position) -> None:
        """Take ``position`` as read (after its batch is committed)."""
        self.position = position

    def _turn(self) -> bool:
        """At the end of the open file: True when it moved on (rotated away, or truncated)."""
        assert self._file is not None and self.position is not None
        current = _identity(self.path)  # before the size: a line written meanwhile is not missed
        size = os.fstat(self._file.fileno()).st_size
        if size < self.position.offset:
            self.position = Position(self.position.dev, self.position.ino)
            return True
        moved = current is not None and current != (self.position.dev, self.position.ino)
        if size > self.position.offset:
            # more came, or a last line without its newline: final once the file was rotated away
            self._old = self._old or moved
            return False
        if moved:
            finished = os.fstat(self._file.fileno()).st_mtime_ns
            self.close()
            following = _next_file(self.path, (self.position.dev, self.position.ino), finished)
            if following is not None:
                self.position = Position(*following)
            return self._open()
        return False

    def _open(self) -> bool:
        current = _identity(self.path)
        if self.position is None:
            if current is None:
                return False
            self.position = Position(*current)
        wanted = (self.position.dev, self.position.ino)
        if current == wanted:
            self._file, self._old = _opened(self.path), False
            return True
        rotated = _sibling(self.path, wanted)
        if rotated is not None:
            self._file, self._old = _opened(rotated), True
            return True
        if current is None:
            return False
        self.position = Position(*current)  # the old file is gone: what it still held is lost
        self._file, self._old = _opened(self.path), False
        return True

    def _head(self) -> bytes:
        assert self._file is not None
        self._file.seek(0)
        return self._file.readline()


def _opened(path: Path) -> IO[bytes]:
    """Open for reading; it stays open across reads (a rotated file is read by its handle)."""
    return open(path, "rb")


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    return stat.st_dev, stat.st_ino


def _rotated(path: Path) -> list[Path]:
    """``path`` and the files it was rotated to (``Master.csv.1``, ``Master.csv-20261202``);
    not compressed ones, nor our own rejects file."""
    try:
        names = list(path.parent.iterdir())
    except FileNotFoundError:
        return []
    return [p for p in names if p.name.startswith(path.name) and not p.name.endswith(_NOT_CSV)]


def _sibling(path: Path, identity: tuple[int, int]) -> Path | None:
    """The file beside ``path`` that is the file ``identity`` names (it was rotated to it)."""
    return next((p for p in _rotated(path) if _identity(p) == identity), None)


def _next_file(path: Path, done: tuple[int, int], mtime: int) -> tuple[int, int] | None:
    """The file written after the one finished (``done``, last written at ``mtime``).

    Several rotations may have happened while callvault was stopped: the file to read next is
    the one, among ``path`` and its rotated files, last written soonest after the finished one.
    """
    later = []
    for candidate in _rotated(path):
        try:
            stat = candidate.stat()
        except FileNotFoundError:
            continue
        if (stat.st_dev, stat.st_ino) != done and stat.st_mtime_ns >= mtime:
            later.append((stat.st_mtime_ns, candidate.name, (stat.st_dev, stat.st_ino)))
    return min(later)[2] if later else None


__all__ = ["Batch", "Position", "Tail"]
