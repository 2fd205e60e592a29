"""The private store's tmp/ sweep (archive/documents/storage.py), run hourly by beat (config/settings.py)."""

from __future__ import annotations

import os
import time

from archive import tasks
from archive.documents import storage


def test_clean_tmp_removes_only_leftovers_older_than_a_day(settings, tmp_path) -> None:
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"
    base = storage.root() / "tmp"
    base.mkdir(parents=True, exist_ok=True)
    old_dir, old_file, fresh = base / "upload-old", base / "spool-old", base / "upload-new"
    old_dir.mkdir()
    (old_dir / "page-1.png").write_bytes(b"x")
    old_file.write_bytes(b"y")
    fresh.mkdir()
    two_days_ago = time.time() - 2 * 24 * 3600
    for path in (old_dir, old_file):
        os.utime(path, (two_days_ago, two_days_ago))

    assert tasks.clean_tmp() == 2
    assert not old_dir.exists() and not old_file.exists()
    assert fresh.exists()


def test_clean_tmp_is_scheduled(settings) -> None:
    tasks_scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert "archive.clean_tmp" in tasks_scheduled


def test_django_spools_large_uploads_into_the_private_store_never_the_system_tmp() -> None:
    from pathlib import Path

    from config import settings as configured  # as loaded, before any test's private root

    spool = Path(configured.FILE_UPLOAD_TEMP_DIR)
    assert spool == Path(configured.PRIVATE_MEDIA_ROOT) / "tmp"  # what clean_tmp sweeps
    assert spool.is_dir()
