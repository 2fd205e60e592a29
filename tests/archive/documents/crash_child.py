"""A process that uploads one scan and stops dead at a chosen point, to be killed there by
`test_crash.py` (SIGKILL: no cleanup, no rollback by Python, no on_commit).

    python -m tests.archive.documents.crash_child <point> <marker-file> <case-file-id> <user-id> <scan>

Points: ``checking`` (bytes received, being checked), ``stored`` (original and page images
renamed into place, no rows yet), ``in_transaction`` (rows written and 档号 taken, not
committed), ``committed`` (committed, OCR not yet queued).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402

from archive import casefiles  # noqa: E402
from archive.documents import (  # noqa: E402
    ingest,
    scans,
    storage,
)
from archive.models import CaseFile  # noqa: E402


def main() -> None:
    point, marker, case_file_id, user_id, scan = sys.argv[1:6]

    def stop_here(*args, **kwargs):
        Path(marker).write_text(point)
        time.sleep(120)  # killed here

    def after(real):
        def wrapper(*args, **kwargs):
            result = real(*args, **kwargs)
            stop_here()
            return result

        return wrapper

    if point == "checking":
        scans.check_and_derive = stop_here
    elif point == "stored":
        storage.commit_derived = after(storage.commit_derived)
    elif point == "in_transaction":
        casefiles.refresh = after(casefiles.refresh)
    elif point == "committed":
        ingest.queue_ocr = stop_here
    else:
        raise SystemExit(f"unknown point {point}")
    target = ingest.Target(CaseFile.objects.get(pk=case_file_id), "id_card")
    user = get_user_model().objects.get(pk=user_id)
    ingest.ingest_path(Path(scan), target, user)
    raise SystemExit("the upload finished without reaching the crash point")


if __name__ == "__main__":
    main()
