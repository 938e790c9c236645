"""Request body size limits (Art. 32: a service that can be exhausted is not secure).

JSON bodies are small: the middleware refuses one past ``json_limit`` before any route reads it,
from its Content-Length or while it arrives. Uploads (``/ingest/``) stream to a spooled temporary
file through :func:`spool`, which stops at ``upload_limit``; nothing is stored from a refused body.
"""

from __future__ import annotations

import tempfile
from typing import IO, Any

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from callvault import TooLarge
from callvault.api.problems import problem_response

JSON_LIMIT = 64 * 1024
UPLOAD_LIMIT = 512 * 1024 * 1024
_SPOOL_IN_MEMORY = 8 * 1024 * 1024


def _is_upload(path: str) -> bool:
    return "/ingest/" in path


class BodyLimit:
    """ASGI middleware: a non-upload body over ``json_limit`` is answered 413 before any route."""

    def __init__(self, app: ASGIApp, json_limit: int = JSON_LIMIT) -> None:
        self.app = app
        self.limit = json_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or _is_upload(scope["path"]):
            await self.app(scope, receive, send)
            return
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.limit:
            await self._refuse(scope, receive, send)
            return
        body, more, messages = 0, True, []
        while more:  # small bodies only: buffered up to the limit, then replayed
            message = await receive()
            if message["type"] != "http.request":
                messages.append(message)
                break
            body += len(message.get("body", b""))
            if body > self.limit:
                await self._refuse(scope, receive, send)
                return
            messages.append(message)
            more = message.get("more_body", False)
        await self.app(scope, _replay(messages, receive), send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = problem_response(TooLarge(f"the request body is over {self.limit} bytes"))
        await response(scope, receive, send)


def _replay(messages: list[Message], receive: Receive) -> Receive:
    queue = list(messages)

    async def replay() -> Message:
        return queue.pop(0) if queue else await receive()

    return replay


async def spool(request: Request, limit: int) -> IO[bytes]:
    """The request body in a temporary file (memory first, disk past 8 MiB), at most ``limit``
    bytes; TooLarge as soon as it passes it."""
    out: Any = tempfile.SpooledTemporaryFile(max_size=_SPOOL_IN_MEMORY)  # noqa: SIM115
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise TooLarge(f"the upload is over {limit} bytes")
            out.write(chunk)
    except BaseException:
        out.close()
        raise
    out.seek(0)
    return out
