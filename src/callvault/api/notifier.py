"""The server's notifier: a daemon thread that sends OpenDSR status callbacks (OpenDSR 8.5) for the
requests whose status changed since it last looked, whoever changed it (this API, the CLI, an erasure
run). It starts from the moment the server starts: a change made while no server ran is not called
back (the controller can poll ``GET /opendsr/v1/requests/{id}``)."""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime

from callvault import CallvaultError, Vault, changed_requests, send_callbacks

log = logging.getLogger("callvault.notifier")


class Notifier:
    def __init__(self, vault: Vault, *, domain: str = "localhost", every: float = 5.0,
                 attempts: int = 4, backoff: float = 0.5) -> None:  # fmt: skip
        self.vault, self.domain, self.every = vault, domain, every
        self.attempts, self.backoff = attempts, backoff
        self.since = datetime.now(UTC)
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._loop, name="callvault-notify", daemon=True)

    def poll(self) -> int:
        """Send the callbacks of every status change since the last poll; how many requests."""
        with self._lock:
            changed = changed_requests(self.vault, self.since)
            for request in changed:
                send_callbacks(self.vault, request, domain=self.domain, attempts=self.attempts,
                               backoff=self.backoff)  # fmt: skip
                self.since = max(self.since, request.state_at)
            return len(changed)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _loop(self) -> None:
        while not self._stop.wait(self.every):
            try:
                self.poll()
            except CallvaultError as exc:
                log.error("callbacks failed: %s", exc.title)
            except Exception as exc:  # keep serving; every attempt made is in the audit log
                log.error("callbacks failed: %s", type(exc).__name__)
