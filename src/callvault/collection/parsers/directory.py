"""Reading a tenant's directory export (users): CSV with a header row, or JSON Lines.

Known columns: ``external_id`` (the directory's own key, required), ``name``, ``email``, ``phone``,
``extension``, ``department``, ``offboarded_at``, ``number_since`` (from when the user holds the
phone number and extension of the row; a recycled number had another holder before). Any other column is read only to be counted and
dropped by the gate (a national id number, a private address, ...): it never reaches storage.
This module only reads; :mod:`callvault.collection.ingest.subjects` validates and stores.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO

from callvault.collection.parsers.records import RowError
from callvault.errors import InvalidInput, UsageError

COLUMNS = ("external_id", "name", "email", "phone", "extension", "department", "offboarded_at",
           "number_since")  # fmt: skip
FORMATS = ("csv", "jsonl")
_MAX_COLUMN = 64  # a longer "column name" is data, not a header: do not echo it into reports


@dataclass(frozen=True, slots=True)
class DirectoryRow:
    line: int
    values: dict[str, str]  # column -> non-empty text value, known and unknown columns alike
    raw: str


def guess_format(name: str | None) -> str:
    if name and name.lower().endswith((".jsonl", ".ndjson", ".json")):
        return "jsonl"
    return "csv"


def read_directory(stream: IO[bytes], format: str) -> Iterator[DirectoryRow | RowError]:
    if format not in FORMATS:
        raise UsageError(f"unknown directory format {format!r}; one of: {', '.join(FORMATS)}")
    text = _lines(stream)
    yield from (_csv(text) if format == "csv" else _jsonl(text))


def _lines(stream: IO[bytes]) -> Iterator[str]:
    """Decode line by line, so that a decoding error names its line."""
    for number, data in enumerate(iter(stream.readline, b""), 1):
        try:
            line = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidInput(f"not UTF-8 text (byte {exc.start})", line=number) from None
        yield line[1:] if number == 1 and line.startswith("\ufeff") else line


def column_name(name: str) -> str:
    clean = name.strip().lower()
    return clean if len(clean) <= _MAX_COLUMN else clean[:_MAX_COLUMN] + "..."


def _csv(text: Iterator[str]) -> Iterator[DirectoryRow | RowError]:
    lines: list[str] = []

    def tracked() -> Iterator[str]:
        for line in text:
            lines.append(line)
            yield line

    reader = csv.reader(tracked())
    try:
        header = [column_name(c) for c in next(reader)]
    except StopIteration:
        return
    except csv.Error as exc:
        raise InvalidInput(f"malformed CSV header: {exc}", line=1) from None
    _check_header(header)
    last = reader.line_num
    while True:
        lines.clear()
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield RowError(last + 1, None, f"malformed CSV: {exc}", "".join(lines).rstrip("\r\n"))
            last = reader.line_num
            continue
        start, last = last + 1, reader.line_num
        raw = "".join(lines).rstrip("\r\n")
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            yield RowError(start, None, f"{len(row)} columns; the header has {len(header)}", raw)
            continue
        values = {c: v.strip() for c, v in zip(header, row, strict=True) if v.strip()}
        yield DirectoryRow(start, values, raw)


def _check_header(header: list[str]) -> None:
    seen: set[str] = set()
    for name in header:
        if name in seen:
            raise InvalidInput(f"column {name!r} appears twice in the header", line=1)
        seen.add(name)
    if "external_id" not in seen:
        raise InvalidInput("the header has no external_id column", line=1)


def _jsonl(text: Iterator[str]) -> Iterator[DirectoryRow | RowError]:
    for number, line in enumerate(text, 1):
        raw = line.rstrip("\r\n")
        if not raw.strip():
            continue
        try:
            obj = json.loads(raw)
        except ValueError as exc:
            yield RowError(number, None, f"not JSON: {exc.args[0] if exc.args else exc}", raw)
            continue
        if not isinstance(obj, dict):
            yield RowError(number, None, "not a JSON object", raw)
            continue
        values: dict[str, str] = {}
        bad = None
        for key, value in obj.items():
            name = column_name(str(key))
            if value is None or value == "":
                continue
            if isinstance(value, bool) or not isinstance(value, str | int):
                bad = f"{name} must be a string"
                break
            values[name] = str(value).strip()
        if bad:
            yield RowError(number, f"/{column_name(str(key))}", bad, raw)
        else:
            yield DirectoryRow(number, {k: v for k, v in values.items() if v}, raw)
