"""Every test of scanned-document handling stores scans: each gets a private media root of
its own (the fixtures live in tests/archive/conftest.py) — except a test that files through
the session's real worker, another process that sees only the session's root."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _own_private_media(request: pytest.FixtureRequest) -> Path | None:
    if "celery_worker_process" in request.fixturenames:
        return None
    return request.getfixturevalue("private_media")
