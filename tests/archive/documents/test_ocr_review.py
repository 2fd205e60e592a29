"""OCR 核对: the queue puts flagged results first, accepting records every field as confirmed,
a correction is validated, updates the fields and re-runs the cross-check, another county's
document does not exist, the accuracy report counts the checks, and an inbox scan is filed to
the proposed person with one click."""

from __future__ import annotations

import io
import re

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from PIL import Image, ImageOps

from archive.documents import ingest, ocr_results, ocr_review, scans, storage
from archive.models import AuditLog, Document, OcrCheck
from core.codes import OCR_FIELD_LABELS
from ocr import engine as ocr_engine
from ocr import pipeline, world
from tests.archive.conftest import OTHER_COUNTY, make_person
from tests.archive.documents.ocr_queue import Page, certificate_fields, certify, scanned
from tests.config.test_words_on_screen import offending

pytestmark = [pytest.mark.usefixtures("private_media"), pytest.mark.django_db]

LOW = "识别质量较差（页面模糊、倾斜过大或不是文字页面），结果请人工核对"
INVALID = "识别出的残疾人证号「140425198001010017 42」未通过校验（CERT_CHECK）：校验位错误，未采用，请人工核对"


def client_of(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def review_url(document: Document) -> str:
    return f"/admin/ocr-review/{document.pk}/"


def form_of(document: Document, **changes) -> dict:
    values = ocr_review.current_values(document.current, document)
    return {**values, **changes}


@pytest.fixture
def certified(person):
    certify(person, category=4, grade=2)
    return person


def test_the_queue_puts_flagged_results_first_then_unreliable_then_the_rest(
    case_file, certified, archivist
):
    clean = scanned(
        archivist, case_file, seed=1, pages=[Page(1, "id_card", 0.6, {"name": certified.name})]
    )
    doubtful = scanned(archivist, case_file, seed=2, pages=[Page(1, "other", 0.9, {}, [LOW])])
    mismatch = scanned(
        archivist,
        case_file,
        seed=3,
        pages=[Page(1, "disability_certificate", 0.7, certificate_fields(certified, grade=3))],
    )
    invalid = scanned(archivist, case_file, seed=4, pages=[Page(1, "other", 0.9, {}, [INVALID])])

    assert list(ocr_review.queue(archivist)) == [mismatch, invalid, doubtful, clean]
    assert mismatch.current.ocr_reasons == ",mismatch,"
    assert "残疾等级与档案不一致（证件为三级，档案为二级）" in mismatch.current.ocr_fields["flags"]
    assert list(ocr_review.queue(archivist, reason="low_confidence")) == [doubtful]
    assert list(ocr_review.queue(archivist, doc_type="disability_certificate")) == [mismatch]

    page = client_of(archivist).get("/admin/ocr-review/")
    assert page.status_code == 200
    html = page.content.decode()
    assert html.index(f'data-document="{mismatch.pk}"') < html.index(f'data-document="{clean.pk}"')
    assert "与档案不一致" in html and "识别不可靠" in html
    assert offending(html) == []


def test_accepting_records_every_field_as_confirmed_and_opens_the_next(
    case_file, certified, archivist
):
    first = scanned(
        archivist,
        case_file,
        seed=1,
        pages=[Page(1, "disability_certificate", 0.7, certificate_fields(certified), [LOW])],
    )
    second = scanned(archivist, case_file, seed=2)
    client = client_of(archivist)

    page = client.get(review_url(first))
    assert page.status_code == 200
    html = page.content.decode()
    assert "全部确认" in html and "下一份" in html and "快捷键" in html
    assert certified.id_number in html and "肢体残疾" in html
    assert offending(html) == []

    response = client.post(review_url(first), form_of(first))
    assert response.status_code == 302 and response["Location"] == review_url(second)
    checks = {c.field: c for c in OcrCheck.objects.filter(version=first.current)}
    assert set(checks) == set(ocr_review.FIELDS)
    assert not any(c.corrected for c in checks.values())
    assert checks["certificate_number"].value_confirmed == f"{certified.id_number}42"
    assert checks["grade"].value_confirmed == "2" and checks["grade"].checked_by == archivist
    assert checks["name"].engine == "rapidocr"
    first.refresh_from_db()
    assert first.doc_type == "disability_certificate"  # the confirmed type filed it
    assert list(ocr_review.queue(archivist)) == [second]
    assert AuditLog.objects.filter(action="ocr_accept", object_id=str(first.pk)).exists()
    again = client.post(review_url(first), form_of(first))
    assert again.status_code == 200 and OcrCheck.objects.filter(version=first.current).count() == 7


def test_a_correction_updates_the_field_and_re_runs_the_cross_check(
    case_file, certified, archivist
):
    read = certificate_fields(certified, grade=3)
    document = scanned(
        archivist, case_file, seed=1, pages=[Page(1, "disability_certificate", 0.9, read)]
    )
    assert document.current.ocr_fields["flags"]  # 三级 read, 二级 recorded
    corrected = f"{certified.id_number}42"
    response = client_of(archivist).post(
        review_url(document), form_of(document, certificate_number=corrected, grade="2")
    )
    assert response.status_code == 302
    version = Document.objects.get(pk=document.pk).current
    assert version.ocr_fields["fields"]["grade"] == 2
    assert version.ocr_fields["fields"]["certificate_number"] == corrected
    assert version.ocr_fields["read"]["grade"] == "3"  # the reading itself is kept
    assert version.ocr_fields["flags"] == []  # the cross-check ran again
    check = OcrCheck.objects.get(version=version, field="grade")
    assert check.corrected and (check.value_read, check.value_confirmed) == ("3", "2")
    assert not OcrCheck.objects.get(version=version, field="name").corrected
    entry = AuditLog.objects.get(action="ocr_correct", object_id=str(document.pk))
    assert "残疾等级 三级 → 二级" in entry.detail and certified.id_number not in entry.detail


def test_a_certificate_number_with_a_wrong_check_digit_is_refused_in_chinese(
    case_file, certified, archivist
):
    document = scanned(
        archivist,
        case_file,
        seed=1,
        pages=[Page(1, "disability_certificate", 0.9, certificate_fields(certified))],
    )
    number = certified.id_number
    wrong = number[:17] + ("0" if number[17] != "0" else "1") + "42"
    response = client_of(archivist).post(
        review_url(document), form_of(document, certificate_number=wrong)
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "未保存" in html and "校验" in html
    assert not OcrCheck.objects.exists()
    assert Document.objects.get(pk=document.pk).current.ocr_fields["fields"][
        "certificate_number"
    ] == (f"{number}42")


def test_a_date_in_no_known_form_is_refused(case_file, certified, archivist):
    document = scanned(archivist, case_file, seed=1)
    response = client_of(archivist).post(
        review_url(document), form_of(document, valid_until="明年五月")
    )
    assert response.status_code == 200 and "无法识别的日期" in response.content.decode()
    assert not OcrCheck.objects.exists()


def test_another_countys_document_is_a_404_and_audited(case_file, archivist, other_archivist):
    document = scanned(archivist, case_file, seed=1)
    client = client_of(other_archivist)
    assert client.get(review_url(document)).status_code == 404
    assert client.post(review_url(document), form_of(document)).status_code == 404
    assert client.post(f"/admin/ocr-review/{document.pk}/file/").status_code == 404
    denied = AuditLog.objects.filter(action="denied", object_id=str(document.pk))
    assert denied.count() == 3 and denied.first().username == "other"
    assert list(ocr_review.queue(other_archivist)) == []
    assert not OcrCheck.objects.exists()


def test_the_accuracy_report_counts_per_field_and_engine(case_file, certified, archivist):
    fields = certificate_fields(certified, name=None)
    accepted = scanned(
        archivist, case_file, seed=1, pages=[Page(1, "disability_certificate", 0.9, fields)]
    )
    corrected = scanned(
        archivist,
        case_file,
        seed=2,
        pages=[Page(1, "disability_certificate", 0.9, certificate_fields(certified, name="张二"))],
    )
    client = client_of(archivist)
    client.post(review_url(accepted), form_of(accepted, name=""))  # no name read, none typed
    client.post(review_url(corrected), form_of(corrected, name=certified.name))
    third = scanned(
        archivist, case_file, seed=3, pages=[Page(1, "id_card", 0.9, {"id_number": None})]
    )
    client.post(review_url(third), form_of(third, id_number=certified.id_number))

    rows = {(r.engine, r.field): r for r in ocr_review.accuracy(archivist)}
    name = rows[("rapidocr", "name")]
    assert (name.checked, name.correct, name.wrong, name.unread) == (1, 0, 1, 0)
    number = rows[("rapidocr", "id_number")]
    assert (number.checked, number.correct, number.wrong, number.unread) == (3, 2, 0, 1)
    assert number.rate == pytest.approx(2 / 3)
    checked_at = timezone.localtime(OcrCheck.objects.first().checked_at).date()
    assert {r.month for r in rows.values()} == {checked_at.replace(day=1)}

    page = client.get("/admin/ocr-review/accuracy/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "RapidOCR" in html and "公民身份号码" in html and "67%" in html
    assert offending(html) == []


def test_the_accuracy_report_shows_nothing_of_another_county(case_file, archivist, other_archivist):
    document = scanned(archivist, case_file, seed=1)
    client_of(archivist).post(review_url(document), form_of(document))
    assert ocr_review.accuracy(archivist)
    assert ocr_review.accuracy(other_archivist) == []


def test_an_inbox_scan_is_filed_to_the_proposed_person_with_one_click(certified, archivist):
    document = scanned(
        archivist,
        seed=1,
        pages=[Page(1, "disability_certificate", 0.9, certificate_fields(certified, grade=3))],
    )
    assert document.proposed_person == certified and document.case_file is None
    client = client_of(archivist)
    html = client.get(review_url(document)).content.decode()
    assert f"确认归入 {certified.name} 的档案" in html
    response = client.post(f"/admin/ocr-review/{document.pk}/file/")
    assert response.status_code == 302
    document.refresh_from_db()
    assert document.case_file.person == certified
    assert document.doc_type == "disability_certificate" and document.archival_code
    # filed, it is cross-checked against its case file: 三级 read, 二级 recorded
    assert document.current.ocr_reasons == ",mismatch,"
    assert AuditLog.objects.filter(action="move_document", object_id=str(document.pk)).exists()


def test_an_inbox_scan_of_nobody_in_the_jurisdiction_offers_no_filing(archivist):
    stranger = make_person(7, county=OTHER_COUNTY, name="冯斌")
    document = scanned(
        archivist,
        seed=1,
        pages=[Page(1, "id_card", 0.9, {"id_number": stranger.id_number})],
    )
    client = client_of(archivist)
    assert "确认归入" not in client.get(review_url(document)).content.decode()
    client.post(f"/admin/ocr-review/{document.pk}/file/")
    document.refresh_from_db()
    assert document.case_file is None


#: A field's crop on the review page: its label, page, image and CSS box.
CROP = re.compile(
    r'class="archive-ocr-crop" role="img" aria-label="([^"]+)在第 (\d+) 页的位置" '
    r"style=\"background-image:url\('([^']+)'\);([^\"]+)\""
)


def shown_region(style: str) -> tuple[float, ...]:
    """The part of the page (fractions) a crop's CSS shows."""
    px = {
        k: [float(v) for v in re.findall(r"-?[\d.]+", value)]
        for k, value in re.findall(r"([\w-]+):([^;]+)", style)
    }
    (width,), (height,) = px["width"], px["height"]
    page_width, page_height = px["background-size"]
    x, y = (-v for v in px["background-position"])
    return (x / page_width, y / page_height, (x + width) / page_width, (y + height) / page_height)


def test_each_field_read_is_shown_beside_the_crop_of_where_it_was_read(
    settings, case_file, archivist, other_archivist
):
    settings.OCR_ENGINE = "tesseract"
    card = world.sample(11, layout="card", level="clean")
    # Scanned at four times the size: the stored page image is smaller than what OCR read.
    scan = card.image.resize((card.image.width * 4, card.image.height * 4))
    data = io.BytesIO()
    scan.save(data, "PNG")
    data.seek(0)
    [outcome] = ingest.ingest_stream(data, "残疾人证.png", ingest.Target(case_file, ""), archivist)
    version = Document.objects.get(pk=outcome.document_id).current
    ocr_results.keep(version.pk, pipeline.read_file(storage.original_path(version.blob.sha256)))
    version.refresh_from_db()
    read = version.ocr_fields["fields"]
    boxes = version.ocr_fields["boxes"]
    assert read["certificate_number"] == card.expected["certificate_number"]
    # Every field read is boxed, and the name too: too doubtful to keep, it is shown where
    # it is printed for the clerk to read.
    assert "name" not in read
    assert set(boxes) == {*read, "name"}

    html = client_of(archivist).get(review_url(version.document)).content.decode()
    crops = {label: (page, url, style) for label, page, url, style in CROP.findall(html)}
    assert set(crops) == {OCR_FIELD_LABELS[key] for key in boxes}
    page_url = reverse("archive_file_page", args=[version.pk, 1])
    for key, where in boxes.items():
        page, url, style = crops[OCR_FIELD_LABELS[key]]
        assert (page, url) == ("1", page_url)
        left, top, right, bottom = shown_region(style)
        x0, y0, x1, y1 = where["box"]
        # the box and a margin of a quarter of its height around it
        assert left < x0 < x1 < right and top < y0 < y1 < bottom
        assert bottom - top == pytest.approx(1.5 * (y1 - y0), rel=0.05)
    assert offending(html) == []

    # The box is where the number is on the stored page image, at its own size.
    stored = Image.open(storage.page_path(version.blob.sha256, 1))
    assert max(stored.size) == scans.PAGE_LONG_SIDE < max(scan.size)
    left, top, right, bottom = boxes["certificate_number"]["box"]
    crop = stored.crop(
        (
            round(left * stored.width) - 10,
            round(top * stored.height) - 10,
            round(right * stored.width) + 10,
            round(bottom * stored.height) + 10,
        )
    )
    line = ImageOps.expand(crop.convert("L"), border=20, fill=255)
    words = ocr_engine.tesseract_recognise(line, psm=ocr_engine.LINE_PSM)
    assert card.expected["certificate_number"] in "".join(w.text for w in words)

    # Another county's user gets neither the page nor the crops' image.
    other = client_of(other_archivist)
    assert other.get(review_url(version.document)).status_code == 404
    assert other.get(page_url).status_code == 404
