"""The server's scheduler: a daemon thread that asks :func:`callvault.run_scheduled` every
``check`` seconds; the library decides, under its lock, whether a run is due."""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

from callvault import CallvaultError, Vault, run_scheduled

log = logging.getLogger("callvault.schedule")


class Scheduler:
    def __init__(self, vault: Vault, every: timedelta, check: float = 60.0) -> None:
        self.vault, self.every, self.check = vault, every, check
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="callvault-schedule", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                ran = run_scheduled(self.vault, every=self.every)
                if ran:
                    log.info("scheduled retention run %s done", ran["run_id"])
            except CallvaultError as exc:
                log.error("scheduled run failed: %s", exc.title)
            except Exception as exc:  # keep serving; the failed run is audited and shows overdue
                log.error("scheduled run failed: %s", type(exc).__name__)
            self._stop.wait(self.check)
