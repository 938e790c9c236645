"""The ``callvault`` command: parses, calls the library, renders. Errors are mapped once, here.

Exit codes (DESIGN, "Interfaces"): 0 ok, 1 internal error, 2 usage error, 3 refused by policy,
4 not found, 5 invalid input (nothing stored), 6 integrity check failed.
"""

from __future__ import annotations

import os
import sys

import typer

from callvault import CallvaultError
from callvault.cli import (
    audit,
    consent,
    demo,
    disclose,
    dsr,
    ingest,
    keys,
    opendsr,
    policy,
    read,
    retention,
    ropa,
    serve,
    stats,
    support,
    tenant,
    token,
    vault,
)
from callvault.cli.common import app


def _register() -> None:
    vault.register(app)
    app.add_typer(tenant.app, name="tenant")
    app.add_typer(audit.app, name="audit")
    app.add_typer(policy.app, name="policy")
    app.add_typer(keys.app, name="keys")
    app.add_typer(retention.app, name="retention")
    read.register(app)
    app.add_typer(support.app, name="support")
    app.add_typer(dsr.app, name="dsr")
    stats.register(app)
    disclose.register(app)
    app.add_typer(consent.app, name="consent")
    ropa.register(app)
    ingest.register(app)
    token.register(app)
    serve.register(app)
    demo.register(app)
    opendsr.register(app)


_register()


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the app and map every error to its exit code exactly once."""
    try:
        app(args=argv, prog_name="callvault")  # usage errors exit 2 inside Typer itself
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except CallvaultError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        return exc.exit_code
    except Exception as exc:  # the last resort: no identifier may leak through a message
        if os.environ.get("CALLVAULT_DEBUG"):
            raise
        typer.echo(
            f"error: internal error ({type(exc).__name__}); CALLVAULT_DEBUG=1 shows the traceback",
            err=True,
        )
        return 1
    return 0


def run() -> None:
    """The console script."""
    sys.exit(main())


__all__ = ["app", "main", "run"]
