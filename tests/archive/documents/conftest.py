"""Every test of scanned-document handling stores scans: each gets a private media root of
its own (the fixtures live in tests/archive/conftest.py)."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _own_private_media(private_media: Path) -> Path:
    return private_media
