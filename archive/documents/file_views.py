"""The only way to the files themselves: every page image, thumbnail and original is served
here.

Each view fetches the version through `archive.access.scoped` (outside the user's jurisdiction it
does not exist: 404, logged), checks the permission and writes the view or download to the
audit log. ``PRIVATE_MEDIA_ROOT`` has no URL of its own; the responses are private, sandboxed
and never sniffed.
"""

from __future__ import annotations

from django.contrib.auth.decorators import permission_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.urls import path
from django.utils.http import content_disposition_header

from archive.access import permissions as perms
from archive.access import scoped
from archive.access.audit import record
from archive.documents import ingest, scans, storage
from archive.models import DocumentVersion


def _private_file(path, content_type: str, filename: str, attachment: bool, cache: str):
    response = FileResponse(path.open("rb"), content_type=content_type)
    response["Content-Disposition"] = content_disposition_header(attachment, filename)
    response["Cache-Control"] = cache
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


def _derived_or_404(version: DocumentVersion) -> None:
    if not ingest.ensure_derived(version.blob):
        raise Http404("原件缺失，无法显示：请联系管理员（完整性校验）")


@permission_required(perms.VIEW_DOCUMENT, raise_exception=True)
def file_page(request: HttpRequest, version_pk: int, page: int) -> HttpResponse:
    version = scoped.version(request, version_pk)
    if not 1 <= page <= version.blob.page_count:
        raise Http404("没有该页")
    return _derived_image(
        request,
        version,
        "view_page",
        f"查看页面图像 第{version.number}版 第{page}页",
        storage.page_path(version.blob.sha256, page),
        f"{version.document_id}-{version.number}-{page}.jpg",
    )


@permission_required(perms.VIEW_DOCUMENT, raise_exception=True)
def file_thumbnail(request: HttpRequest, version_pk: int) -> HttpResponse:
    version = scoped.version(request, version_pk)
    return _derived_image(
        request,
        version,
        "view_thumbnail",
        f"查看缩略图 第{version.number}版",
        storage.thumbnail_path(version.blob.sha256),
        f"{version.document_id}-{version.number}-thumb.jpg",
    )


def _derived_image(request, version, action: str, detail: str, path, filename: str) -> HttpResponse:
    """A page image or thumbnail: derived on demand if missing, audited, never public."""
    _derived_or_404(version)
    record(
        request, action, obj_type="archive.Document", obj_id=str(version.document_id), detail=detail
    )
    return _private_file(path, "image/jpeg", filename, False, "private, max-age=600")


@permission_required(perms.VIEW_DOCUMENT, raise_exception=True)
def file_original(request: HttpRequest, version_pk: int) -> HttpResponse:
    version = scoped.version(request, version_pk)
    blob = version.blob
    path = storage.original_path(blob.sha256)
    if not path.exists():
        raise Http404("原件缺失：请联系管理员（完整性校验）")
    document = version.document
    record(
        request,
        "download_original",
        obj_type="archive.Document",
        obj_id=str(document.pk),
        detail=f"下载原件 {document} 第{version.number}版（{blob.sha256[:12]}…）",
    )
    name = f"{document.archival_code or f'文件{document.pk}'}_第{version.number}版.{scans.EXTENSIONS[blob.kind]}"
    response = _private_file(path, scans.KINDS[blob.kind], name, True, "private, no-store")
    response["X-Checksum-SHA256"] = blob.sha256
    return response


urlpatterns = [
    path("files/<int:version_pk>/page/<int:page>/", file_page, name="archive_file_page"),
    path("files/<int:version_pk>/thumbnail/", file_thumbnail, name="archive_file_thumbnail"),
    path("files/<int:version_pk>/original/", file_original, name="archive_file_original"),
]
