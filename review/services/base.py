"""What every comparison service shares: the error a request that cannot be done raises,
and the shapes of the progress and cancellation callbacks."""

from __future__ import annotations

from collections.abc import Callable

#: ``progress(stage, percent)``
Progress = Callable[[str, int], None]
#: ``check()``: called where work may stop; raises to stop it (a cancelled job)
Check = Callable[[], None]


class ReviewError(ValueError):
    """Something a person asked for that cannot be done (message in Chinese)."""
