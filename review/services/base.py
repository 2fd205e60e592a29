"""What every comparison service shares: the error a request that cannot be done raises,
and the shape of a progress callback."""

from __future__ import annotations

from collections.abc import Callable

#: ``progress(stage, percent)``
Progress = Callable[[str, int], None]


class ReviewError(ValueError):
    """Something a person asked for that cannot be done (message in Chinese)."""
