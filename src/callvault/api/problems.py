"""RFC 9457 problem details: the one shape of every error the API answers.

``{"type", "title", "status", "detail"}``, media type ``application/problem+json``. Every error is
mapped here once: a :class:`callvault.CallvaultError` by its class's ``http_status`` and ``title``;
FastAPI's own validation and routing errors into the matching class first, so they take the same road.
A detail never quotes a submitted value (it may be an identifier): validation errors name the field.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException

from callvault import CallvaultError, InvalidInput, NotFound, UsageError, refuse_unknown

MEDIA_TYPE = "application/problem+json"
log = logging.getLogger("callvault.api")


class Problem(BaseModel):
    """An RFC 9457 problem document."""

    type: str
    title: str
    status: int
    detail: str


def _slug(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")


def problem_response(exc: CallvaultError) -> JSONResponse:
    body = Problem(
        type=f"/problems/{_slug(exc.title)}", title=exc.title, status=exc.http_status,
        detail=exc.message,
    )  # fmt: skip
    headers = {"WWW-Authenticate": "Bearer"} if exc.http_status == 401 else None
    return JSONResponse(body.model_dump(), exc.http_status, headers=headers, media_type=MEDIA_TYPE)


class _HttpError(CallvaultError):
    """An HTTP routing error (unknown path, wrong method) with its own status."""

    def __init__(self, status: int, title: str, message: str) -> None:
        super().__init__(message)
        self.http_status = status
        self.title = title


def _where(error: dict[str, Any]) -> str:
    return "/".join(str(part) for part in error.get("loc", ()))


def _from_validation(exc: RequestValidationError) -> CallvaultError:
    errors = list(exc.errors())
    first = errors[0] if errors else {}
    # The message names the field and what was wrong with it, never the value submitted.
    return InvalidInput(str(first.get("msg", "invalid")).split(",")[0], pointer=_where(first))


def _from_http(exc: HTTPException) -> CallvaultError:
    if exc.status_code == 404:
        return NotFound("no such resource")
    if exc.status_code == 400:
        return UsageError("the request could not be read")
    return _HttpError(exc.status_code, _reason(exc.status_code), _reason(exc.status_code))


def _reason(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def _audit_unknown(request: Request) -> None:
    """A token asked for what it may not know of (another tenant's, another subject's, or nothing):
    the 404 says nothing, the audit log records that it asked, by route template, never a value."""
    who = getattr(request.state, "principal", None)
    if who is None:
        return
    route = request.scope.get("route")
    template = getattr(route, "path", "?")
    refuse_unknown(request.app.state.vault, who, f"{request.method} {template}")


def install(app: FastAPI) -> None:
    """Register the mapping: after this, every error path answers a :class:`Problem`."""

    async def on_callvault(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, CallvaultError)
        if isinstance(exc, NotFound):
            await run_in_threadpool(_audit_unknown, request)
        return problem_response(exc)

    async def on_validation(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return problem_response(_from_validation(exc))

    async def on_http(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, HTTPException)
        return problem_response(_from_http(exc))

    async def on_other(_: Request, exc: Exception) -> JSONResponse:
        # The last resort: a driver error's text could quote a row value; log the class only.
        log.error("internal error: %s", type(exc).__name__)
        return problem_response(CallvaultError(f"internal error ({type(exc).__name__})"))

    _document(app)
    app.add_exception_handler(CallvaultError, on_callvault)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(HTTPException, on_http)
    app.add_exception_handler(Exception, on_other)


def documented(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI ``responses`` entry of error statuses a route may answer."""
    return {
        status: {"model": Problem, "content": {MEDIA_TYPE: {}}, "description": _reason(status)}
        for status in statuses
    }


def _document(app: FastAPI) -> None:
    """Error responses are documented as ``application/problem+json`` with the Problem schema
    (FastAPI would file a response model under ``application/json``)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        document = build()
        for methods in document.get("paths", {}).values():
            for operation in methods.values():
                for response in operation.get("responses", {}).values():
                    content = response.get("content", {})
                    if MEDIA_TYPE in content and "application/json" in content:
                        content[MEDIA_TYPE] = content.pop("application/json")
        app.openapi_schema = document
        return document

    app.openapi = openapi  # type: ignore[method-assign]
