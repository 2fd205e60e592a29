"""The registry of kinds of long work.

An app declares a kind once, in its own ``jobs.py``::

    @register("roster_preview", "花名册预览", queue=INTERACTIVE, retry_safe=True)
    def preview(context: Context) -> dict: ...

The function is plain (no Celery): it reads ``context.params``, reports ``context.progress``,
returns the result as a JSON-able dict (``url``: where the user goes next; ``file``: a name
under the job's directory to download; ``summary``: one Chinese sentence) and raises
:class:`JobFailed` with a Chinese message for an outcome the user must act on.

``retry_safe`` says the function may run again after its worker died half-way — true when
it writes in one transaction (nothing of the dead attempt stays) or its steps are idempotent.

``time_limit`` names the setting that bounds one attempt, in seconds (the parsing of an
uploaded file: a workbook crafted to parse for ever must not hold a worker); past it the
worker stops the attempt, its transaction rolls back and the job fails with the reason.
``memory_limit`` names the setting, in MB, of what one attempt may allocate on top of what the
worker holds (``jobs.limits``); past it the attempt gets ``MemoryError`` and fails the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jobs.runner import Context

#: Queues by kind of work (config/settings.py routes tasks; supervisord runs a worker for each):
#: a person waits for interactive work; bulk work (OCR, re-indexing) may wait.
INTERACTIVE = "interactive"
BULK = "bulk"
QUEUES = (INTERACTIVE, BULK)


class JobFailed(Exception):
    """An expected failure; its message (Chinese) is what the user reads."""

    def __init__(self, message: str, **result: Any) -> None:
        super().__init__(message)
        self.message = message
        self.result = result


@dataclass(frozen=True, slots=True)
class Kind:
    name: str
    label: str
    run: Callable[[Context], dict[str, Any]]
    queue: str
    retry_safe: bool
    time_limit: str | None = None
    memory_limit: str | None = None

    def seconds(self) -> int | None:
        """The time limit of one attempt, from its setting; None for none."""
        return _setting(self.time_limit)

    def megabytes(self) -> int | None:
        """The memory allowance of one attempt, from its setting; None for none."""
        return _setting(self.memory_limit)


def _setting(name: str | None) -> int | None:
    if name is None:
        return None
    from django.conf import settings

    return int(getattr(settings, name))


_KINDS: dict[str, Kind] = {}


def register(
    name: str,
    label: str,
    *,
    queue: str = INTERACTIVE,
    retry_safe: bool = False,
    time_limit: str | None = None,
    memory_limit: str | None = None,
) -> Callable[[Callable[[Context], dict[str, Any]]], Callable[[Context], dict[str, Any]]]:
    if queue not in QUEUES:
        raise ValueError(f"unknown queue {queue!r}")

    def decorate(run: Callable[[Context], dict[str, Any]]) -> Callable[[Context], dict[str, Any]]:
        if name in _KINDS and _KINDS[name].run is not run:
            raise ValueError(f"job kind {name!r} registered twice")
        _KINDS[name] = Kind(name, label, run, queue, retry_safe, time_limit, memory_limit)
        return run

    return decorate


def get(name: str) -> Kind:
    try:
        return _KINDS[name]
    except KeyError:
        raise LookupError(f"unknown job kind {name!r}") from None


def label_of(name: str) -> str:
    kind = _KINDS.get(name)
    return kind.label if kind else "后台任务"


def all_kinds() -> list[Kind]:
    return sorted(_KINDS.values(), key=lambda kind: kind.label)
