"""The case file, document or file version an admin URL names, fetched inside the user's
jurisdiction with what its pages show.

Every case-file, document and file view fetches through these: `archive.access.get_scoped_or_404`
makes an object outside the jurisdiction not exist (404, logged as ``denied``).
"""

from __future__ import annotations

from django.http import HttpRequest

from archive import access
from archive.models import CaseFile, Document, DocumentVersion


def case_file(request: HttpRequest, pk: int) -> CaseFile:
    return access.get_scoped_or_404(
        CaseFile.objects.select_related("person", "county"), request.user, "county", request, pk=pk
    )


def document(request: HttpRequest, pk: int) -> Document:
    return access.get_scoped_or_404(
        Document.objects.select_related(
            "case_file__person", "case_file__county", "current__blob", "proposed_person"
        ),
        request.user,
        "county",
        request,
        pk=pk,
    )


def version(request: HttpRequest, pk: int) -> DocumentVersion:
    return access.get_scoped_or_404(
        DocumentVersion.objects.select_related("blob", "document__case_file__person"),
        request.user,
        "document__county",
        request,
        pk=pk,
    )
