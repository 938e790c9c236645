"""The one error hierarchy of callvault.

Every error the library raises on purpose derives from :class:`CallvaultError`. Adapters map it once:
the CLI prints ``error: <message>`` to stderr and exits with :attr:`CallvaultError.exit_code`; the HTTP
API answers an RFC 9457 problem document with :attr:`CallvaultError.http_status`.

::

    CallvaultError                 exit 1   HTTP 500
     ├── UsageError                exit 2   HTTP 400   the call itself is malformed
     ├── Unauthenticated           exit 3   HTTP 401   no bearer token, or an unknown or revoked one
     ├── PolicyRefusal             exit 3   HTTP 403   a gate said no (carries the Decision)
     ├── NotFound                  exit 4   HTTP 404   no such tenant/subject (never "exists elsewhere")
     ├── InvalidInput              exit 5   HTTP 422   bad data; nothing was stored
     │    ├── PolicyInvalid        exit 5   HTTP 422   a policy document fails validation or lint
     │    └── TooLarge             exit 5   HTTP 413   a request body or upload past its size limit
     ├── IntegrityError            exit 6   HTTP 409   the audit chain or a stored record was tampered
     │                                                with, or the master key is not this vault's
     ├── ConfigError               exit 1   HTTP 500   missing key, unreachable database, ...
     └── Busy                      exit 1   HTTP 503   the database is locked by another writer: retry

Gate decisions themselves are data (``Decision``), not exceptions: only an adapter or a caller that asks
for "data or refusal" turns a denial into :class:`PolicyRefusal`.
"""

from __future__ import annotations

from typing import Any


class CallvaultError(Exception):
    """Root of every error callvault raises on purpose."""

    exit_code = 1
    http_status = 500
    title = "Internal error"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def __str__(self) -> str:
        return self.message


class UsageError(CallvaultError):
    exit_code = 2
    http_status = 400
    title = "Bad request"


class Unauthenticated(CallvaultError):
    """The adapter could not authenticate the actor (no token, an unknown or a revoked one)."""

    exit_code = 3
    http_status = 401
    title = "Not authenticated"


class PolicyRefusal(CallvaultError):
    """A gate denied the request; ``decision`` holds the reason and rule."""

    exit_code = 3
    http_status = 403
    title = "Refused by policy"

    def __init__(self, message: str, decision: Any = None, **details: Any) -> None:
        super().__init__(message, **details)
        self.decision = decision


class NotFound(CallvaultError):
    exit_code = 4
    http_status = 404
    title = "Not found"


class InvalidInput(CallvaultError):
    """Input rejected; nothing was stored. ``line`` or ``pointer`` names where, when known."""

    exit_code = 5
    http_status = 422
    title = "Invalid input"

    def __init__(
        self,
        message: str,
        *,
        line: int | None = None,
        pointer: str | None = None,
        **details: Any,
    ) -> None:
        where = f"line {line}: " if line is not None else (f"{pointer}: " if pointer else "")
        super().__init__(where + message, **details)
        self.line = line
        self.pointer = pointer
        self.reason = message


class PolicyInvalid(InvalidInput):
    """A policy document does not validate, or its lint reports errors."""


class TooLarge(InvalidInput):
    """A request body or upload is larger than its limit; nothing was read past it or stored."""

    http_status = 413
    title = "Content too large"


class IntegrityError(CallvaultError):
    exit_code = 6
    http_status = 409
    title = "Integrity check failed"


class ConfigError(CallvaultError):
    exit_code = 1
    http_status = 500
    title = "Configuration error"


class Busy(CallvaultError):
    """Another writer held the database past the busy timeout; nothing was changed, try again."""

    exit_code = 1
    http_status = 503
    title = "Busy"


class RateLimited(CallvaultError):
    """Too many attempts from one client or for one identifier in the window; try again later
    (Art. 32: sign-in codes must not be guessable by trying them all)."""

    exit_code = 1
    http_status = 429
    title = "Too many requests"
