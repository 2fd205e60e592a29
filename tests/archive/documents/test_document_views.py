"""The case-file page, the viewer and the file views: jurisdiction and permission on every
file URL, every view or download audited, nothing under the private root reachable by URL."""

from __future__ import annotations

import json

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from archive.access.roles import ADMINISTRATOR, INSPECTOR
from archive.documents.ingest import FILED, Target
from archive.models import AuditLog, CaseFile, Document, DocumentVersion
from tests.archive.conftest import COUNTY, make_person
from tests.archive.documents import samples

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("private_media")]


@pytest.fixture
def filed(upload, case_file, archivist) -> Document:
    [outcome] = upload(
        samples.tiff(2), "户口簿.tif", Target(case_file, "household_register"), archivist
    )
    assert outcome.status == FILED
    return Document.objects.select_related("current__blob").get(pk=outcome.document_id)


def denied(response) -> bool:
    """Refused by permission: 403, or the Wagtail admin's redirect to its dashboard."""
    return response.status_code == 403 or (
        response.status_code == 302 and response["Location"] == "/admin/"
    )


def file_urls(document: Document) -> dict[str, str]:
    version = document.current_id
    return {
        "page": reverse("archive_file_page", args=[version, 1]),
        "thumbnail": reverse("archive_file_thumbnail", args=[version]),
        "original": reverse("archive_file_original", args=[version]),
        "viewer": reverse("archive_document_view", args=[document.pk]),
        "casefile": reverse("archive_casefile_detail", args=[document.case_file_id]),
        "catalogue": reverse("archive_casefile_catalogue", args=[document.case_file_id]),
        "catalogue_pdf": reverse("archive_casefile_catalogue", args=[document.case_file_id])
        + "?format=pdf",
        "export": reverse("archive_casefile_export", args=[document.case_file_id]),
    }


def test_person_record_leads_to_the_case_file_opened_at_enrolment(client, archivist, person):
    client.force_login(archivist)
    case_file = CaseFile.objects.get(person=person)  # opened by the enrolment, before any view
    response = client.get(reverse("archive_casefile_for_person", args=[person.pk]))
    assert response.status_code == 302
    assert response["Location"] == reverse("archive_casefile_detail", args=[case_file.pk])
    assert case_file.county_id == COUNTY


def test_case_file_page_shows_record_checklist_and_documents(client, archivist, filed, person):
    client.force_login(archivist)
    response = client.get(reverse("archive_casefile_detail", args=[filed.case_file_id]))
    assert response.status_code == 200
    body = response.content.decode()
    assert person.id_number in body and "材料清单" in body
    assert "户口簿（常住人口登记卡）" in body and filed.archival_code in body
    assert reverse("archive_file_thumbnail", args=[filed.current_id]) in body
    missing = [line for line in response.context["lines"] if line.required and not line.present]
    assert {line.code for line in missing} == {
        "application_form",
        "id_card",
        "disability_certificate",
        "commitment_letter",
        "bank_card",
        "assistance_certificate",
    }
    assert AuditLog.objects.filter(action="view_casefile", user=archivist).exists()


def test_conditional_types_become_required_from_the_record(upload, archivist, client):
    guarded = make_person(5, name="赵六", subsidies=("nursing",), guardian="赵大")
    from archive import casefiles

    case_file = casefiles.case_file_for(guarded)
    required = {line.code for line in casefiles.checklist_lines(case_file) if line.required}
    assert "guardian_authorization" in required
    assert "assistance_certificate" not in required  # only for the living subsidy


def test_every_file_view_works_in_jurisdiction_and_is_audited(client, archivist, filed):
    client.force_login(archivist)
    urls = file_urls(filed)
    for kind in ("page", "thumbnail"):
        response = client.get(urls[kind])
        assert response.status_code == 200 and response["Content-Type"] == "image/jpeg", kind
        assert response["X-Content-Type-Options"] == "nosniff"
        assert b"".join(response.streaming_content)[:3] == b"\xff\xd8\xff"
    response = client.get(urls["original"])
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == samples.tiff(2)
    assert response["Content-Disposition"].startswith("attachment")
    assert "no-store" in response["Cache-Control"]
    actions = set(
        AuditLog.objects.filter(user=archivist, object_id=str(filed.pk)).values_list(
            "action", flat=True
        )
    )
    assert {"view_page", "view_thumbnail", "download_original"} <= actions


@pytest.mark.parametrize(
    "kind",
    ["page", "thumbnail", "original", "viewer", "casefile", "catalogue", "catalogue_pdf", "export"],
)
def test_every_file_url_is_404_outside_the_jurisdiction_and_logged(
    client, other_archivist, filed, kind
):
    client.force_login(other_archivist)
    response = client.get(file_urls(filed)[kind])
    assert response.status_code == 404
    assert AuditLog.objects.filter(action="denied", user=other_archivist).exists()


@pytest.mark.parametrize("kind", ["page", "thumbnail", "original", "viewer", "casefile"])
def test_file_urls_need_the_view_permission(client, make_user, filed, kind):
    from archive.access.roles import EDITOR

    client.force_login(make_user("editor", COUNTY, role=EDITOR))
    assert denied(client.get(file_urls(filed)[kind]))


@pytest.mark.parametrize("kind", ["page", "thumbnail", "original", "viewer", "casefile"])
def test_file_urls_need_a_login(client, filed, kind):
    response = client.get(file_urls(filed)[kind])
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_inspector_views_but_cannot_upload_change_or_export(client, make_user, filed):
    inspector = make_user("inspector", COUNTY, role=INSPECTOR)
    client.force_login(inspector)
    urls = file_urls(filed)
    assert client.get(urls["casefile"]).status_code == 200
    assert client.get(urls["page"]).status_code == 200
    assert denied(client.get(urls["export"]))
    upload_url = reverse("archive_casefile_upload", args=[filed.case_file_id])
    assert denied(client.post(upload_url, {"files": SimpleUploadedFile("a.jpg", samples.jpeg(3))}))
    delete_url = reverse("archive_document_delete", args=[filed.pk])
    assert denied(client.post(delete_url, {"reason": "x"}))
    assert Document.objects.count() == 1 and not Document.objects.get().deleted_at


def test_nothing_under_the_private_root_is_reachable_by_url(client, archivist, filed):
    client.force_login(archivist)
    sha = filed.current.blob.sha256
    root = settings.PRIVATE_MEDIA_ROOT
    assert not str(root).startswith(str(settings.MEDIA_ROOT))
    assert not str(root).startswith(str(settings.STATIC_ROOT))
    guesses = [
        f"/media/originals/{sha[:2]}/{sha[2:4]}/{sha}",
        f"/media/../private/originals/{sha[:2]}/{sha[2:4]}/{sha}",
        f"/media/%2e%2e/private/derived/{sha[:2]}/{sha}/thumb.jpg",
        f"/private/originals/{sha[:2]}/{sha[2:4]}/{sha}",
        f"/static/../private/derived/{sha[:2]}/{sha}/page-0001.jpg",
        f"/documents/originals/{sha}",
    ]
    original = samples.tiff(2)
    for url in guesses:
        response = client.get(url, follow=True)
        assert response.status_code in (400, 404), url  # 400: a path outside MEDIA_ROOT
        body = b"".join(response.streaming_content) if response.streaming else response.content
        assert original not in body


def test_viewer_pages_through_a_multi_page_document(client, archivist, filed):
    client.force_login(archivist)
    url = reverse("archive_document_view", args=[filed.pk])
    response = client.get(url, {"page": 2})
    assert response.status_code == 200
    body = response.content.decode()
    assert reverse("archive_file_page", args=[filed.current_id, 2]) in body
    assert "第 2 / 2 页" in body
    assert client.get(url, {"page": 9}).context["page"] == 2  # clamped
    assert client.get(reverse("archive_file_page", args=[filed.current_id, 3])).status_code == 404
    assert AuditLog.objects.filter(action="view_document", object_id=str(filed.pk)).count() == 2


def test_missing_derived_images_are_made_again_from_the_original(client, archivist, filed):
    import shutil

    from archive.documents import storage

    shutil.rmtree(storage.derived_dir(filed.current.blob.sha256))
    client.force_login(archivist)
    response = client.get(reverse("archive_file_page", args=[filed.current_id, 2]))
    assert response.status_code == 200


def test_upload_view_answers_json_per_file(client, archivist, case_file):
    client.force_login(archivist)
    url = reverse("archive_casefile_upload", args=[case_file.pk])
    response = client.post(
        url,
        {"doc_type": "id_card", "files": SimpleUploadedFile("id.jpg", samples.jpeg(11))},
        headers={"Accept": "application/json"},
    )
    payload = json.loads(response.content)
    assert response.status_code == 200
    assert payload["results"][0]["status"] == FILED and payload["results"][0]["label"] == "已归档"
    assert payload["completeness"] == 100 // 7


def test_upload_view_without_javascript_shows_a_result_page(client, archivist, case_file):
    client.force_login(archivist)
    url = reverse("archive_casefile_upload", args=[case_file.pk])
    files = [
        SimpleUploadedFile("a.jpg", samples.jpeg(1)),
        SimpleUploadedFile("b.gif", b"GIF89a..."),
    ]
    response = client.post(url, {"doc_type": "id_card", "files": files})
    body = response.content.decode()
    assert response.status_code == 200 and "上传结果" in body
    assert "已归档" in body and "拒收" in body


def test_upload_to_a_case_file_of_another_county_is_refused(client, other_archivist, case_file):
    client.force_login(other_archivist)
    url = reverse("archive_casefile_upload", args=[case_file.pk])
    response = client.post(url, {"files": SimpleUploadedFile("a.jpg", samples.jpeg(1))})
    assert response.status_code == 404
    assert not Document.objects.exists()


def test_inbox_upload_and_filing_from_the_inbox(client, archivist, person):
    client.force_login(archivist)
    response = client.post(
        reverse("archive_inbox_upload"),
        {"files": SimpleUploadedFile("scan.jpg", samples.jpeg(21))},
        headers={"Accept": "application/json"},
    )
    [result] = json.loads(response.content)["results"]
    assert result["status"] == "inbox"
    inbox = client.get(reverse("archive_inbox"))
    assert inbox.status_code == 200 and "scan.jpg" in inbox.content.decode()
    document = Document.objects.get(pk=result["document_id"])
    response = client.post(
        reverse("archive_document_edit", args=[document.pk]),
        {"doc_type": "bank_card", "id_number": person.id_number, "title": ""},
    )
    assert response.status_code == 302
    document.refresh_from_db()
    assert document.case_file.person == person and document.archival_code
    assert AuditLog.objects.filter(action="move_document", object_id=str(document.pk)).exists()


def test_inbox_of_another_county_is_invisible(client, archivist, other_archivist):
    client.force_login(archivist)
    client.post(
        reverse("archive_inbox_upload"), {"files": SimpleUploadedFile("s.jpg", samples.jpeg(31))}
    )
    document = Document.objects.get()
    client.force_login(other_archivist)
    assert "s.jpg" not in client.get(reverse("archive_inbox")).content.decode()
    assert client.get(reverse("archive_document_view", args=[document.pk])).status_code == 404


def test_superuser_without_division_sees_everything(client, django_user_model, filed):
    admin = django_user_model.objects.create_superuser("root", "", "pw")
    client.force_login(admin)
    for url in file_urls(filed).values():
        assert client.get(url).status_code == 200, url


def test_administrator_of_the_city_sees_the_county(client, make_user, filed):
    client.force_login(make_user("city", "140400", role=ADMINISTRATOR))
    assert client.get(file_urls(filed)["page"]).status_code == 200


def _multipart(name: bytes, data: bytes) -> bytes:
    return (
        b'--XX\r\nContent-Disposition: form-data; name="files"; filename="' + name + b'"\r\n'
        b"Content-Type: image/jpeg\r\n\r\n" + data + b"\r\n--XX--\r\n"
    )


@pytest.mark.parametrize(
    ("name", "expected"),
    [(b"a" * 5000 + b".jpg", "文件名过长"), (b"\xff\xfe\xfa.jpg", "无法识别的字符")],
    ids=["5000-characters", "invalid-utf-8"],
)
def test_a_file_name_too_long_or_not_utf8_is_answered_in_chinese(client, archivist, name, expected):
    client.force_login(archivist)
    response = client.post(
        reverse("archive_inbox_upload"),
        data=_multipart(name, samples.jpeg(1)),
        content_type="multipart/form-data; boundary=XX",
    )
    assert response.status_code == 400
    body = response.content.decode()
    assert expected in body and "Bad Request" not in body
    assert not Document.objects.exists()


def test_the_inbox_and_the_viewer_name_the_proposed_type_not_its_code(client, archivist):
    client.force_login(archivist)
    client.post(
        reverse("archive_inbox_upload"), {"files": SimpleUploadedFile("c.jpg", samples.jpeg(32))}
    )
    document = Document.objects.get()
    Document.objects.filter(pk=document.pk).update(
        proposed_type="disability_certificate", proposal_confidence=0.7
    )
    for url in (reverse("archive_inbox"), reverse("archive_document_view", args=[document.pk])):
        page = client.get(url).content.decode()
        assert "残疾人证（复印件）" in page
        assert ">disability_certificate<" not in page and "；disability_certificate" not in page
        assert "建议类型 disability_certificate" not in page


def test_the_viewer_labels_what_ocr_read_in_chinese(client, archivist, upload, case_file):
    [outcome] = upload(
        samples.jpeg(33), "证.jpg", Target(case_file, "disability_certificate"), archivist
    )
    document = Document.objects.get(pk=outcome.document_id)
    DocumentVersion.objects.filter(pk=document.current_id).update(
        ocr_status="done",
        ocr_fields={
            "fields": {"certificate_number": "14042519800101001X42", "category": 4, "grade": 2}
        },
    )
    client.force_login(archivist)
    page = client.get(reverse("archive_document_view", args=[document.pk])).content.decode()
    assert "<dt>残疾人证号</dt>" in page and "<dd>肢体残疾</dd>" in page and "<dd>二级</dd>" in page
    assert "certificate_number" not in page and "<dt>category</dt>" not in page
