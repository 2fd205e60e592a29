"""Where the scans live on disk: private, content-addressed, written atomically.

Everything is under ``PRIVATE_MEDIA_ROOT`` (``STORAGES["private"]``), which has no URL: files
are reached only through the views of `archive.documents.file_views` (and the case file's ZIP export in
`archive.casefiles.casefile_views`), which check jurisdiction and write the audit log.

    originals/ab/cd/<sha256>          the bytes exactly as uploaded, read-only, never modified
    derived/ab/<sha256>/page-0001.jpg page images for the viewer (regenerable)
    derived/ab/<sha256>/thumb.jpg     the thumbnail of the first page (regenerable)
    tmp/                              uploads being received and checked

An original is written to ``tmp/`` first, flushed to disk and then renamed into place, so a
crash leaves either no file or the whole file, never a partial one under its final name. A
file without a database row (a crash between the rename and the commit) is invisible to
users; the integrity check reports it and the next upload of the same bytes reuses it.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from django.conf import settings

CHUNK = 1024 * 1024
ORIGINAL_MODE = 0o440
DIR_MODE = 0o750


class TooLarge(Exception):
    """The stream is longer than the limit it was copied with."""


def root() -> Path:
    return Path(settings.PRIVATE_MEDIA_ROOT)


def _ensure_dir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
    return path


def tmp_dir() -> Path:
    return _ensure_dir(root() / "tmp")


def original_path(sha256: str) -> Path:
    return root() / "originals" / sha256[:2] / sha256[2:4] / sha256


def derived_dir(sha256: str) -> Path:
    return root() / "derived" / sha256[:2] / sha256


def page_path(sha256: str, page: int) -> Path:
    return derived_dir(sha256) / f"page-{page:04d}.jpg"


def thumbnail_path(sha256: str) -> Path:
    return derived_dir(sha256) / "thumb.jpg"


def new_tmp_file() -> Path:
    """A fresh, private temporary file under ``tmp/`` (same filesystem as the archive, so the
    final rename is atomic)."""
    fd, name = tempfile.mkstemp(dir=tmp_dir(), suffix=".part")
    os.close(fd)
    return Path(name)


def new_tmp_dir() -> Path:
    return Path(tempfile.mkdtemp(dir=tmp_dir(), suffix=".derive"))


def spool(stream: BinaryIO, limit: int) -> tuple[Path, str, int]:
    """Copies a stream into a new temporary file while hashing it. Returns (path, sha256,
    size). Raises `TooLarge` (and removes the file) past ``limit`` bytes."""
    path = new_tmp_file()
    digest = hashlib.sha256()
    size = 0
    try:
        with path.open("wb") as out:
            while chunk := stream.read(CHUNK):
                size += len(chunk)
                if size > limit:
                    raise TooLarge
                digest.update(chunk)
                out.write(chunk)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path, digest.hexdigest(), size


def hash_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def commit_original(tmp: Path, sha256: str) -> Path:
    """Moves a checked temporary file to its content-addressed place, durably: the data is
    flushed before the rename, the rename is atomic, and the directory entry is flushed after.
    If the same content is already there (same name ⇒ same bytes) the temporary file is
    simply replaced over it."""
    final = original_path(sha256)
    _ensure_dir(final.parent)
    with tmp.open("rb+") as fh:
        os.fsync(fh.fileno())
    tmp.chmod(ORIGINAL_MODE)
    os.replace(tmp, final)
    _fsync_dir(final.parent)
    return final


def commit_derived(tmp: Path, sha256: str) -> Path:
    """Puts a directory of derived images in place (whole, by one rename)."""
    final = derived_dir(sha256)
    _ensure_dir(final.parent)
    if final.exists():
        shutil.rmtree(final, ignore_errors=True)
    try:
        os.replace(tmp, final)
    except OSError:  # a concurrent upload of the same file got there first: keep theirs
        shutil.rmtree(tmp, ignore_errors=True)
    return final


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def iter_originals() -> Iterator[tuple[str, Path]]:
    """Every file under ``originals/`` as (name, path), for the orphan sweep."""
    base = root() / "originals"
    if not base.exists():
        return
    for dirpath, _dirs, files in os.walk(base):
        for name in files:
            yield name, Path(dirpath) / name


def clean_tmp(max_age_seconds: float = 24 * 3600) -> int:
    """Removes leftovers of interrupted uploads older than ``max_age_seconds``."""
    import time

    base = root() / "tmp"
    if not base.exists():
        return 0
    removed = 0
    cutoff = time.time() - max_age_seconds
    for entry in base.iterdir():
        with contextlib.suppress(OSError):
            if entry.stat().st_mtime < cutoff:
                if entry.is_dir():
                    shutil.rmtree(entry)
                else:
                    entry.unlink()
                removed += 1
    return removed
