"""Refusing an oversized file while it is being received, not after.

Django's default upload handlers keep the whole of every uploaded file (in memory up to
``FILE_UPLOAD_MAX_MEMORY_SIZE``, then in a temporary file) before the view runs, so a 5 GB file
sent to a 200 MB limit used to fill 5 GB of the temporary directory before `archive.documents.ingest`
refused it. `SizeLimitHandler`, put first in the request's handler list by the upload views
(`install`), counts each file's bytes as they arrive: once a file passes
``settings.UPLOAD_MAX_BYTES`` it raises `SkipFile`, so the handlers behind it never see more
than the limit, the partial temporary file is closed (and so removed) at once, the rest of that
file is read off the connection and thrown away, and the other files of the request are
received normally. The view reports each skipped file as rejected, "文件超过大小上限 …", next
to the others' outcomes.

Why `SkipFile` and not ``StopUpload(connection_reset=True)``: resetting the connection would
stop reading sooner, but the browser then shows "connection reset" instead of the message, and
the other files of a multi-file upload would be lost. Network-level limits belong to the
reverse proxy (``client_max_body_size``, docs/archive.md).

Handlers can only be changed before ``request.POST``/``FILES`` is read, and
``CsrfViewMiddleware`` reads ``request.POST``; so the upload views are ``csrf_exempt`` and do
the CSRF check themselves with ``csrf_protect`` *after* installing the handler (Django's
"Modifying upload handlers on the fly"). A request failing the check is still refused before
anything is stored; it just had the handler applied while its body was parsed.
"""

from __future__ import annotations

from functools import wraps

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler, SkipFile
from django.views.decorators.csrf import csrf_exempt, csrf_protect

from archive.documents import scans
from archive.documents.ingest import REJECTED, Outcome


def too_large_message(limit: int) -> str:
    return f"文件超过大小上限 {scans.human_size(limit)}"


class SizeLimitHandler(FileUploadHandler):
    """Passes each file's data on until the file exceeds ``limit`` bytes, then skips the file.
    Remembers the names of the skipped files (``rejected``) for the view to report."""

    def __init__(self, request=None, limit: int | None = None):
        super().__init__(request)
        self.limit = int(settings.UPLOAD_MAX_BYTES) if limit is None else limit
        self.rejected: list[tuple[str, str]] = []  # (field name, file name)

    def new_file(self, field_name, file_name, *args, **kwargs):
        # Never raise here: the handlers behind this one would not be told about the new
        # file, and the parser's clean-up would then close the *previous* file they hold.
        super().new_file(field_name, file_name, *args, **kwargs)

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        declared = self.content_length  # a part's own Content-Length, rarely sent
        if start + len(raw_data) > self.limit or (declared is not None and declared > self.limit):
            self.rejected.append((self.field_name, self.file_name))
            raise SkipFile
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None  # the next handler makes the file object

    def outcomes(self, field_name: str) -> list[Outcome]:
        """One "rejected" outcome per skipped file of ``field_name``."""
        return [
            Outcome(name, REJECTED, too_large_message(self.limit))
            for field, name in self.rejected
            if field == field_name
        ]


def install(request) -> SizeLimitHandler:
    """Puts a `SizeLimitHandler` first in the request's upload handlers. Must run before
    anything reads ``request.POST`` or ``request.FILES``."""
    handler = SizeLimitHandler(request, scans.max_bytes())
    request.upload_handlers.insert(0, handler)
    return handler


def limited_upload(view):
    """Decorates an upload view ``view(request, *args, limiter, **kwargs)``: installs the size
    limit, then runs the view behind ``csrf_protect``. The result is ``csrf_exempt`` so that the
    middleware does not read the body first; the CSRF check still happens, here."""
    protected = csrf_protect(view)

    @csrf_exempt
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        limiter = install(request)
        return protected(request, *args, limiter=limiter, **kwargs)

    return wrapper
