"""Stands in for Asterisk's cdr_csv: appends real-format Master.csv lines, rotating the file.

Like Asterisk, it opens the file by name for every record and appends one whole line with one
write; rotation renames ``Master.csv`` to ``Master.csv.<n>`` (as logrotate does) and the next
record starts a new file. Run as ``python masterwriter.py PATH COUNT RATE ROTATE_EVERY START``; it
writes COUNT lines (numbered from START) at RATE lines per second and stops by itself.
"""

from __future__ import annotations

import os
import sys
import time
from datetime import date, timedelta
from pathlib import Path


def line(n: int) -> str:
    """Line ``n``: a real-format 21-column cdr_csv record with its own uniqueid."""
    day = date.today() - timedelta(days=2)  # within the call-record period: stored
    src, dst = (f"+4526{n:06d}", "201") if n % 2 else ("202", f"+4527{n:06d}")
    at = f"{day} 1{n % 10}:{n // 60 % 60:02d}:{n % 60:02d}"
    return (
        f'"","{src}","{dst}","from-internal","""Caller {n}"" <{src}>","PJSIP/a-{n:08x}",'
        f'"PJSIP/b-{n:08x}","Dial","PJSIP/{dst}@trunk,60","{at}","{at}","{at}",60,55,'
        f'"ANSWERED","DOCUMENTATION","1762077600.{n}","","","1762077600.{n}",{n}\n'
    )


def write(path: Path, count: int, rate: float, rotate_every: int, start: int = 0) -> None:
    rotations = 0
    for n in range(start, start + count):
        if n and n % rotate_every == 0 and path.exists():
            rotations += 1
            path.rename(path.with_name(f"{path.name}.{rotations}"))
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, line(n).encode())
        finally:
            os.close(fd)
        time.sleep(1 / rate)


if __name__ == "__main__":
    path, count, rate, every, start = sys.argv[1:6]
    write(Path(path), int(count), float(rate), int(every), int(start))
