"""The OCR pipeline's settings: read from Django's settings when Django is configured (the
worker, the commands), else the given default, so the pipeline also runs as plain Python
(benchmarks, a shell). The defaults themselves are declared in config/settings.py."""

from __future__ import annotations

from typing import Any


def setting(name: str, default: Any) -> Any:
    """A Django setting when Django is configured, else ``default``."""
    try:
        from django.conf import settings
    except ImportError:  # pragma: no cover - Django is always installed in this project
        return default
    return getattr(settings, name, default) if settings.configured else default
