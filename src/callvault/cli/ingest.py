"""``callvault ingest``: users, call records and voicemail through the collection gate."""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import typer
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

from callvault import (
    CALL_FORMATS,
    DEFAULT_CONTEXT,
    DEFAULT_TZ,
    IngestReport,
    UsageError,
    Vault,
    follow_calls,
    ingest_calls,
    ingest_subjects,
    ingest_voicemail,
)
from callvault.cli.common import console, errors, open_vault, print_json

app = typer.Typer(help="Collect users, call records and voicemail (only what the tenant collects).")

ON_ERROR_HELP = (
    "fail: reject the whole file at the first bad row (nothing stored); skip: store the rest."
)
FOLLOW_HELP = (
    "Follow SOURCE until stopped: a CSV file, or for kamailio-acc Kamailio's database URL."
)
IDLE_HELP = "With --follow: stop once nothing new has come for SECONDS (default: never)."
REJECTS_HELP = (
    "Where --on-error skip lists the rejected rows' lines and reasons (default <FILE>.rejects)."
)
CALL_REJECTS_HELP = REJECTS_HELP[:-2] + "; for a database URL, none unless given)."
COUNTRY_HELP = (
    "ISO 3166-1 alpha-2 country national numbers in this source are dialled in "
    "(default: the tenant's)."
)


@contextmanager
def _progress(label: str, total: int | None, unit_bytes: bool) -> Iterator[Callable[[int], None]]:
    """A progress bar on stderr, only when stderr is a terminal (never in pipes or logs)."""
    if not sys.stderr.isatty():
        yield lambda _n: None
        return
    columns = [TextColumn(label), BarColumn()]
    columns += [DownloadColumn()] if unit_bytes else [TextColumn("{task.completed} messages")]
    with Progress(*columns, TimeRemainingColumn(), console=errors, transient=True) as bar:
        task = bar.add_task(label, total=total)
        yield lambda n: bar.advance(task, n)


def _show(report: IngestReport, what: str, as_json: bool) -> None:
    if as_json:
        print_json(report.as_dict())
        return
    console.print(
        f"{what}: {report.stored} stored, {report.duplicates} already held, "
        f"{report.rejected} rejected"
    )
    if report.unparsed_numbers:
        console.print(
            f"{report.unparsed_numbers} parties are no valid number in the source's country "
            "(kept as external parties under their digits; --country sets the country)"
        )
    if report.dropped_fields:
        names = report.as_dict()["dropped_fields"]
        dropped = ", ".join(f"{k} ({v})" for k, v in names.items())
        console.print(f"dropped, not collected: {dropped}")
    if report.rejects_path:
        console.print(f"rejected rows and reasons: {report.rejects_path}")


def _file(path: Path) -> Path:
    if not path.is_file():
        raise UsageError(f"no such file: {path}")
    return path


@app.command("subjects")
def subjects(
    ctx: typer.Context,
    file: Path = typer.Argument(..., help="Directory export: CSV with a header row, or JSONL."),
    tenant: str = typer.Option(..., "--tenant", help="Tenant id."),
    format: str = typer.Option(None, "--format", help="csv or jsonl (default: by file name)."),
    on_error: str = typer.Option("fail", "--on-error", help=ON_ERROR_HELP),
    rejects: Path = typer.Option(None, "--rejects", help=REJECTS_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print the counts as JSON."),
) -> None:
    """Create or update the tenant's users from its directory export.

    Columns: external_id (required), name, email, phone, extension, department,
    offboarded_at, number_since; any other column is dropped and counted.
    number_since: from when the user holds the phone and extension (default: now);
    earlier calls and voicemail of a recycled number stay with its previous holder.
    """
    vault = open_vault(ctx)
    with _progress("users", os.path.getsize(_file(file)), True) as advance:
        report = ingest_subjects(
            vault, tenant, file, format=format, on_error=on_error, rejects=rejects, progress=advance
        )
    _show(report, "users", as_json)


@app.command("calls")
def calls(
    ctx: typer.Context,
    file: str = typer.Argument(
        None, help="The call-record file; for kamailio-acc also Kamailio's database URL."
    ),
    tenant: str = typer.Option(..., "--tenant", help="Tenant id."),
    format: str = typer.Option(..., "--format", help=f"One of: {', '.join(CALL_FORMATS)}."),
    follow: str = typer.Option(None, "--follow", help=FOLLOW_HELP, metavar="SOURCE"),
    until_idle: float = typer.Option(None, "--until-idle", help=IDLE_HELP, metavar="SECONDS"),
    utc: bool = typer.Option(False, "--utc", help="Times in the file are UTC (usegmtime=yes)."),
    tz: str = typer.Option(DEFAULT_TZ, "--tz", help="Time zone of local times in the file."),
    country: str = typer.Option(None, "--country", help=COUNTRY_HELP),
    on_error: str = typer.Option(
        None, "--on-error", help=ON_ERROR_HELP + " Default: fail; with --follow, skip."
    ),
    rejects: Path = typer.Option(None, "--rejects", help=CALL_REJECTS_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print the counts as JSON."),
) -> None:
    """Store call records (times, outcome, direction, parties as subjects; no free text).

    With --follow SOURCE it stores new records as they appear, until SIGTERM or Ctrl-C.
    SOURCE: a CSV file (tailed across rotation and truncation) or Kamailio's database URL.
    Each batch is stored with its checkpoint: a restart resumes and stores nothing twice.
    """
    if (file is None) == (follow is None):
        raise UsageError("give either FILE or --follow SOURCE")
    vault = open_vault(ctx)
    if follow is not None:
        _follow(vault, tenant, follow, format, utc, tz, country, on_error or "skip", rejects,
                until_idle, as_json)  # fmt: skip
        return
    source: str | Path = file if "://" in file else _file(Path(file))
    size = None if isinstance(source, str) else os.path.getsize(source)
    with _progress("calls", size, True) as advance:
        report = ingest_calls(
            vault,
            tenant,
            source,
            format=format,
            utc=utc,
            tz=tz,
            country=country,
            on_error=on_error or "fail",
            rejects=rejects,
            progress=advance,
        )
    _show(report, "calls", as_json)


def _follow(
    vault: Vault, tenant: str, source: str, format: str, utc: bool, tz: str, country: str | None,
    on_error: str, rejects: Path | None, until_idle: float | None, as_json: bool,
) -> None:  # fmt: skip
    stopping: list[int] = []
    numbers = (signal.SIGTERM, signal.SIGINT)
    before = [signal.signal(n, lambda signum, _frame: stopping.append(signum)) for n in numbers]
    shown = _batch_line() if sys.stderr.isatty() else None
    try:
        report = follow_calls(
            vault, tenant, source, format=format, utc=utc, tz=tz, country=country,
            on_error=on_error, rejects=rejects, until_idle=until_idle,
            stop=lambda: bool(stopping), on_batch=shown,
        )  # fmt: skip
    finally:
        for number, handler in zip(numbers, before, strict=True):
            signal.signal(number, handler)
    _show(report, "calls", as_json)


def _batch_line() -> Callable[[IngestReport], None]:
    """Progress on a terminal: running totals, one line rewritten after each batch."""
    totals = [0, 0]

    def show(report: IngestReport) -> None:
        totals[0] += report.stored
        totals[1] = report.rejected  # the rejects of the whole follow so far
        errors.print(f"following: {totals[0]} stored, {totals[1]} rejected", end="\r")

    return show


@app.command("voicemail")
def voicemail(
    ctx: typer.Context,
    spool: Path = typer.Argument(..., help="An Asterisk voicemail spool directory."),
    tenant: str = typer.Option(..., "--tenant", help="Tenant id."),
    context: str = typer.Option(
        DEFAULT_CONTEXT, "--context", help="The voicemail context (spool directory) to take."
    ),
    country: str = typer.Option(None, "--country", help=COUNTRY_HELP),
    on_error: str = typer.Option("fail", "--on-error", help=ON_ERROR_HELP),
    rejects: Path = typer.Option(None, "--rejects", help="Where skipped messages are listed."),
    as_json: bool = typer.Option(False, "--json", help="Print the counts as JSON."),
) -> None:
    """Store voicemail messages, the recordings encrypted (refused if the tenant has no voicemail)."""
    vault = open_vault(ctx)
    if on_error == "skip" and rejects is None:
        rejects = Path(str(spool).rstrip("/") + ".rejects")
    with _progress("messages", None, False) as advance:
        report = ingest_voicemail(
            vault,
            tenant,
            spool,
            context=context,
            country=country,
            on_error=on_error,
            rejects=rejects,
            progress=advance,
        )
    _show(report, "voicemail", as_json)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="ingest")
