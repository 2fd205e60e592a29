"""A heartbeat for long background work, so that a reaper can tell work still in progress from
work whose worker process died (killed, out of memory, the machine restarted).

With ``acks_late`` a killed worker's task is redelivered only when the broker's visibility
timeout expires (an hour on Redis), and the row it was working on stays "running". While the
task runs, :class:`Heartbeat` calls ``beat`` every ``interval`` seconds from a daemon thread
(a long DuckDB query or one slow OCR page does not stop it); a reaper treats a row whose last
beat is older than a few intervals as abandoned (``archive.tasks.reap_ocr``,
``jobs.services.reap``). No Django here: the caller's ``beat`` writes the timestamp, and
``finish`` (e.g. closing the thread's database connection) runs in the thread when it stops.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from types import TracebackType

logger = logging.getLogger("core.heartbeat")


class Heartbeat:
    """Context manager: beats while the ``with`` block runs."""

    def __init__(
        self,
        beat: Callable[[], object],
        interval: float,
        finish: Callable[[], object] | None = None,
    ) -> None:
        self._beat = beat
        self._interval = interval
        self._finish = finish
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="heartbeat", daemon=True)

    def _run(self) -> None:
        try:
            while not self._stop.wait(self._interval):
                try:
                    self._beat()
                except Exception:  # a missed beat is logged; the work itself goes on
                    logger.exception("heartbeat failed")
        finally:
            if self._finish is not None:
                self._finish()

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join(timeout=self._interval + 5)
