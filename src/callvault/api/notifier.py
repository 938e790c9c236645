"""The server's notifier: a daemon thread that sends OpenDSR status callbacks (OpenDSR 8.5) for the
requests whose status changed.

Pushed: a change committed in this process (this API, the web pages, an erasure run in the server)
wakes the thread at once through the vault's after-commit listeners, so the controller hears of it
within moments. Polled: every ``every`` seconds it also looks for changes made by other processes
(the CLI, another server). It starts from the moment the server starts: a change made while no
server ran is not called back (the controller can poll ``GET /opendsr/v1/requests/{id}``). A failed
delivery is retried with backoff by :func:`callvault.send_callbacks`, each attempt audited.
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime, timedelta

from callvault import CallvaultError, Vault, changed_requests, send_callbacks

log = logging.getLogger("callvault.notifier")
# Looking back this far catches a change whose transaction began (and stamped its time) before
# a later one committed; what was already sent for that status is not sent again.
_OVERLAP = timedelta(seconds=60)


class Notifier:
    def __init__(self, vault: Vault, *, domain: str = "localhost", every: float = 5.0,
                 attempts: int = 4, backoff: float = 0.5) -> None:  # fmt: skip
        self.vault, self.domain, self.every = vault, domain, every
        self.attempts, self.backoff = attempts, backoff
        self.since = self.started = datetime.now(UTC)
        self._sent: dict[str, tuple[str, datetime]] = {}  # request id -> (state, state_at) sent
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._loop, name="callvault-notify", daemon=True)

    def poll(self) -> int:
        """Send the callbacks of every status change not yet called back; how many requests."""
        with self._lock:
            changed = changed_requests(self.vault, max(self.started, self.since - _OVERLAP))
            fresh = [r for r in changed if self._sent.get(r.request_id) != (r.state, r.state_at)]
            for request in fresh:
                send_callbacks(self.vault, request, domain=self.domain, attempts=self.attempts,
                               backoff=self.backoff)  # fmt: skip
                self._sent[request.request_id] = (request.state, request.state_at)
                self.since = max(self.since, request.state_at)
            horizon = self.since - _OVERLAP
            self._sent = {k: v for k, v in self._sent.items() if v[1] >= horizon}
            return len(fresh)

    def changed(self, events: list[tuple[str, ...]]) -> None:
        """The vault's after-commit listener: a request's status changed, send now."""
        if any(event[0] == "request" for event in events):
            self._wake.set()

    def start(self) -> None:
        self.vault.listeners.append(self.changed)
        self._thread.start()

    def stop(self) -> None:
        if self.changed in self.vault.listeners:
            self.vault.listeners.remove(self.changed)
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=30)

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.every)
            self._wake.clear()
            if self._stop.is_set():
                return
            try:
                self.poll()
            except CallvaultError as exc:
                log.error("callbacks failed: %s", exc.title)
            except Exception as exc:  # keep serving; every attempt made is in the audit log
                log.error("callbacks failed: %s", type(exc).__name__)
