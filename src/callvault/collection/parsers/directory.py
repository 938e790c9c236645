"""Reading a tenant's directory export (users): CSV with a header row, or JSON Lines.

Known columns: ``external_id`` (the directory's own key, required), ``name``, ``email``, ``phone``,
``extension`` (any number of digits), ``endpoints`` (the user's SIP endpoint or device names, several
separated by spaces, commas or semicolons; in JSONL also an array of strings), ``department``,
``offboarded_at``, ``number_since`` (from when the user holds the phone number and extension of the
row; a recycled number had another holder before). Any other column is read only to be counted and
dropped by the gate (a national id number, a private address, ...): it never reaches storage, and
its name is counted as ``other``. Bytes that are not UTF-8 are read as lone surrogates: the gate
rejects the row if they are in a column it keeps, and ignores them in one it drops.
This module only reads; :mod:`callvault.collection.ingest.subjects` validates and stores.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO

from callvault.collection.parsers.records import OTHER, RowError
from callvault.errors import InvalidInput, UsageError

COLUMNS = ("external_id", "name", "email", "phone", "extension", "endpoints", "department",
           "offboarded_at", "number_since")  # fmt: skip
FORMATS = ("csv", "jsonl")
_MAX_COLUMN = 64  # a longer "column name" is data, not a header: do not echo it into reports


@dataclass(frozen=True, slots=True)
class DirectoryRow:
    line: int
    values: dict[str, str]  # column -> non-empty text value, known and unknown columns alike


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
    """Decode line by line; bytes that are not UTF-8 become lone surrogates (see the docstring)."""
    for number, data in enumerate(iter(stream.readline, b""), 1):
        line = data.decode("utf-8", "surrogateescape")
        yield line[1:] if number == 1 and line.startswith("\ufeff") else line


def column_name(name: str) -> str:
    """A known column's name, whatever its case and spacing; any other name is OTHER-prefixed,
    kept apart (two unknown columns stay two) but never shown."""
    clean = name.strip().lower()
    return clean if clean in COLUMNS else f"{OTHER}:{clean[:_MAX_COLUMN]}"


def shown(column: str) -> str:
    """How a column is named in messages, reports and the audit log: known name, or OTHER."""
    return column if column in COLUMNS else OTHER


def _csv(text: Iterator[str]) -> Iterator[DirectoryRow | RowError]:
    reader = csv.reader(text)
    try:
        header = [column_name(c) for c in next(reader)]
    except StopIteration:
        return
    except csv.Error as exc:
        raise InvalidInput(f"malformed CSV header: {exc}", line=1) from None
    _check_header(header)
    last = reader.line_num
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield RowError(last + 1, None, f"malformed CSV: {exc}")
            last = reader.line_num
            continue
        start, last = last + 1, reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            yield RowError(start, None, f"{len(row)} columns; the header has {len(header)}")
            continue
        values = {c: v.strip() for c, v in zip(header, row, strict=True) if v.strip()}
        yield DirectoryRow(start, values)


def _check_header(header: list[str]) -> None:
    seen: set[str] = set()
    for name in header:
        if name in seen:
            raise InvalidInput(f"column {shown(name)} appears twice in the header", line=1)
        seen.add(name)
    if "external_id" not in seen:
        raise InvalidInput("the header has no external_id column", line=1)


def _jsonl(text: Iterator[str]) -> Iterator[DirectoryRow | RowError]:
    for number, line in enumerate(text, 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            yield RowError(number, None, f"not JSON: {exc.msg} at column {exc.colno}")
            continue
        except (ValueError, RecursionError):
            yield RowError(number, None, "not readable JSON")
            continue
        if not isinstance(obj, dict):
            yield RowError(number, None, "not a JSON object")
            continue
        try:
            values = {column_name(str(key)): _text(key, value) for key, value in obj.items()}
        except ValueError as exc:
            yield RowError(number, f"/{exc.args[1]}", str(exc.args[0]))
        else:
            yield DirectoryRow(number, {k: v for k, v in values.items() if v})


def _text(key: str, value: object) -> str:
    """A JSONL value as text ("" for null); ``endpoints`` may be an array of strings. Values of
    columns that are not read are never looked at: they are dropped whatever they hold."""
    name = column_name(str(key))
    if name not in COLUMNS or value is None:
        return "" if value is None else "-"
    if name == "endpoints" and isinstance(value, list):
        if all(isinstance(item, str) for item in value):
            return " ".join(item.strip() for item in value)
        raise ValueError("endpoints must be a string or an array of strings", name)
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValueError(f"{name} must be a string", name)
    return str(value).strip()
