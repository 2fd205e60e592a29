"""到期鉴定: when a document's retention ends (a pure function, every period and edge), which
documents the list shows (inside the jurisdiction only, in one query), the page and its
audited export — and that none of it ever deletes or changes anything (docs/archive.md: "the
system lists files due for appraisal (鉴定) but never destroys anything by itself")."""

from __future__ import annotations

import io
from datetime import date, timedelta

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from archive import casefiles
from archive.access import permissions as perms
from archive.access.roles import ADMINISTRATOR
from archive.casefiles import appraisal
from archive.documents.ingest import FILED, UNTYPED, Target
from archive.documents.operations import soft_delete
from archive.models import AuditLog, Document, DocumentVersion, Enrolment, StoredFile
from archive.people import enrolments
from tests.archive.conftest import COUNTY, OTHER_COUNTY, make_person, stored_files
from tests.archive.documents import samples

pytestmark = pytest.mark.usefixtures("private_media")

YEARS = {"D30": 30, "D10": 10}
STOPPED = date(2010, 3, 1)


# --- The rule, without a database ------------------------------------------------------------


def test_permanent_documents_are_never_due():
    """永久 means what it says, however long ago the enrolment stopped."""
    assert appraisal.retention_end("Y", date(1950, 1, 1), YEARS) is None


@pytest.mark.parametrize(("period", "years"), [("D30", 30), ("D10", 10)])
def test_retention_ends_the_configured_years_after_the_enrolment_stopped(period, years):
    assert appraisal.retention_end(period, STOPPED, YEARS) == date(2010 + years, 3, 1)


@pytest.mark.parametrize(("period", "years"), [("D30", 30), ("D10", 10)])
def test_a_document_is_due_on_the_day_exactly_n_years_after_the_stop_not_the_day_before(
    period, years
):
    """ "At the earliest N years after": the anniversary itself is the first due day."""
    on = date(2010 + years, 3, 1)
    end = appraisal.retention_end(period, STOPPED, YEARS)
    assert end == on
    assert appraisal.latest_stop_due(on, period, YEARS) == STOPPED
    assert appraisal.latest_stop_due(on - timedelta(days=1), period, YEARS) < STOPPED


def test_the_number_of_years_comes_from_the_configuration():
    assert appraisal.retention_end("D10", STOPPED, {"D10": 15}) == date(2025, 3, 1)


def test_blank_or_unknown_periods_are_never_due():
    """An unfiled document has no 保管期限; an unknown code must not be guessed at."""
    assert appraisal.retention_end("", STOPPED, YEARS) is None
    assert appraisal.retention_end("D50", STOPPED, YEARS) is None


def test_a_leap_day_stop_runs_to_the_first_of_march():
    """Never shorter than N full years: 29 Feb 2016 + 10 years is 1 Mar 2026, not 28 Feb."""
    assert appraisal.retention_end("D10", date(2016, 2, 29), YEARS) == date(2026, 3, 1)
    assert appraisal.retention_end("D30", date(2016, 2, 29), YEARS) == date(2046, 3, 1)


def test_the_database_cutoff_agrees_with_the_rule_on_every_day():
    """`due_documents` filters on `latest_stop_due`; it must say "due" exactly when
    `retention_end` has passed — checked for every stop day around two leap years."""
    stops = [date(2015, 12, 1) + timedelta(days=n) for n in range(3 * 366)]
    days = [date(2026, 2, 27), date(2026, 2, 28), date(2026, 3, 1), date(2028, 2, 28)]
    days += [date(2028, 2, 29), date(2028, 3, 1), date(2046, 2, 28), date(2048, 2, 29)]
    for period in YEARS:
        for on in days:
            cutoff = appraisal.latest_stop_due(on, period, YEARS)
            for stopped in stops:
                due = appraisal.retention_end(period, stopped, YEARS) <= on
                assert due == (stopped <= cutoff), (period, on, stopped)


def test_a_case_file_still_paid_or_suspended_has_not_stopped():
    assert appraisal.stopped_on([("active", None)]) is None
    assert appraisal.stopped_on([("suspended", None)]) is None
    assert appraisal.stopped_on([("stopped", STOPPED), ("active", None)]) is None
    assert appraisal.stopped_on([("stopped", STOPPED), ("suspended", None)]) is None


def test_a_case_file_stopped_when_its_last_enrolment_stopped():
    """Living and nursing subsidies can stop in different months; retention counts from the
    later one."""
    later = date(2012, 7, 1)
    assert appraisal.stopped_on([("stopped", STOPPED), ("stopped", later)]) == later


def test_without_a_stop_month_or_any_enrolment_there_is_no_date_to_count_from():
    assert appraisal.stopped_on([("stopped", None)]) is None
    assert appraisal.stopped_on([("stopped", STOPPED), ("stopped", None)]) is None
    assert appraisal.stopped_on([]) is None
    assert appraisal.retention_end("D10", None, YEARS) is None


# --- The list ------------------------------------------------------------------------------------


def _file(upload, case_file, user, doc_type, seed):
    [outcome] = upload(samples.jpeg(seed), f"{doc_type}.jpg", Target(case_file, doc_type), user)
    assert outcome.status in (FILED, UNTYPED), outcome.message
    return Document.objects.get(pk=outcome.document_id)


def _stop(person, user, month=STOPPED):
    for enrolment in person.enrolments.all():
        enrolments.stop(enrolment, month=month, reason="DECEASED", user=user)


@pytest.fixture
def stopped_case(db, upload, archivist):
    """张三 in 平顺县: an approval form (D30) and an ID card copy (D10); both subsidies
    stopped in March 2010."""
    person = make_person(1)
    case_file = casefiles.case_file_for(person)
    form = _file(upload, case_file, archivist, "application_form", 1)
    card = _file(upload, case_file, archivist, "id_card", 2)
    assert (form.retention, card.retention) == ("D30", "D10")
    _stop(person, archivist)
    return {"person": person, "case_file": case_file, "form": form, "card": card}


def _due(on, **filters):
    return list(appraisal.due_rows(Document.objects.all(), on, **filters))


def test_only_documents_whose_period_has_run_out_are_listed(stopped_case):
    assert _due(date(2020, 2, 29)) == []
    assert _due(date(2020, 3, 1)) == [stopped_case["card"]]
    assert {d.pk for d in _due(date(2040, 3, 1))} == {
        stopped_case["card"].pk,
        stopped_case["form"].pk,
    }


def test_rows_carry_the_stop_month_that_gives_their_due_date(stopped_case):
    [row] = _due(date(2020, 3, 1))
    assert row.stopped == STOPPED
    assert appraisal.retention_end(row.retention, row.stopped, YEARS) == date(2020, 3, 1)


def test_the_configured_years_are_used(stopped_case, settings):
    settings.ARCHIVE_RETENTION_YEARS = {"D30": 30, "D10": 12}
    assert _due(date(2020, 3, 1)) == []
    assert _due(date(2022, 3, 1)) == [stopped_case["card"]]


def test_filters_by_period_and_by_year_due(stopped_case):
    on = date(2045, 1, 1)
    assert _due(on, period="D30") == [stopped_case["form"]]
    assert _due(on, period="D10") == [stopped_case["card"]]
    assert _due(on, year=2020) == [stopped_case["card"]]
    assert _due(on, year=2040) == [stopped_case["form"]]
    assert _due(on, year=2021) == []


def test_permanent_and_unfiled_documents_are_not_listed(stopped_case, upload, archivist):
    permanent = stopped_case["card"]
    Document.objects.filter(pk=permanent.pk).update(retention="Y")
    _file(upload, stopped_case["case_file"], archivist, "", 3)  # untyped: no 档号 yet
    assert _due(date(2100, 1, 1)) == [stopped_case["form"]]


def test_withdrawn_documents_are_still_listed_because_their_originals_are_kept(
    stopped_case, make_user
):
    admin = make_user("admin", COUNTY, role=ADMINISTRATOR)
    soft_delete(stopped_case["card"], "重复扫描", admin)
    assert _due(date(2020, 3, 1)) == [stopped_case["card"]]


def test_a_case_file_with_an_active_enrolment_is_never_due(upload, archivist):
    person = make_person(2, name="李四")
    case_file = casefiles.case_file_for(person)
    _file(upload, case_file, archivist, "id_card", 4)
    living = person.enrolments.get(subsidy="living")
    enrolments.stop(living, month=STOPPED, reason="DECEASED", user=archivist)
    assert _due(date(2100, 1, 1)) == []  # nursing still paid


def test_a_suspended_enrolment_keeps_the_case_file_open(upload, archivist):
    person = make_person(3, name="王五")
    case_file = casefiles.case_file_for(person)
    _file(upload, case_file, archivist, "id_card", 5)
    living, nursing = person.enrolments.order_by("subsidy")
    enrolments.stop(living, month=STOPPED, reason="DECEASED", user=archivist)
    enrolments.suspend(nursing, month=STOPPED, reason="DECEASED", user=archivist)
    assert _due(date(2100, 1, 1)) == []


def test_a_stop_without_a_month_is_never_due(upload, archivist):
    """Imported legacy rows can be stopped with no 停发年月: there is no date to count from."""
    person = make_person(4, name="赵六")
    case_file = casefiles.case_file_for(person)
    _file(upload, case_file, archivist, "id_card", 6)
    Enrolment.objects.filter(person=person).update(status="stopped", stop_month=None)
    assert _due(date(2100, 1, 1)) == []


def test_a_case_file_without_enrolments_in_its_county_is_never_due(upload, archivist):
    person = make_person(5, name="钱七", subsidies=())
    case_file = casefiles.case_file_for(person)
    _file(upload, case_file, archivist, "id_card", 7)
    assert _due(date(2100, 1, 1)) == []


def test_only_the_case_files_own_county_counts(stopped_case, archivist):
    """The same person enrolled (and still paid) in another county does not keep this
    county's case file open: a case file is one person in one county."""
    Enrolment.objects.create(
        person=stopped_case["person"], subsidy="living", county_id=OTHER_COUNTY
    )
    assert _due(date(2020, 3, 1)) == [stopped_case["card"]]


def test_the_list_takes_one_query_however_many_rows(
    stopped_case, upload, archivist, django_assert_num_queries
):
    for serial in range(10, 16):
        person = make_person(serial, name=f"人{serial}")
        case_file = casefiles.case_file_for(person)
        _file(upload, case_file, archivist, "id_card", 100 + serial)
        _stop(person, archivist)
    with django_assert_num_queries(1):
        rows = _due(date(2020, 3, 1))
        names = [(d.case_file.person.name, d.case_file.county.name) for d in rows]
    assert len(names) == 7


# --- The page and the export --------------------------------------------------------------------


@pytest.fixture
def other_county_case(db, upload, other_archivist):
    person = make_person(1, county=OTHER_COUNTY, name="孙八")
    case_file = casefiles.case_file_for(person)
    document = _file(upload, case_file, other_archivist, "id_card", 50)
    _stop(person, other_archivist)
    return document


@pytest.fixture
def admin(make_user):
    return make_user("admin", COUNTY, role=ADMINISTRATOR)


URL = "/admin/appraisal/"


def test_url_and_permission_belong_to_administrators(admin, archivist):
    """The permission is given to the 管理员 role by archive.access.roles (synced after migrate), not
    to archivists."""
    assert reverse("archive_appraisal") == URL
    assert admin.has_perm(perms.VIEW_APPRAISAL)
    assert not archivist.has_perm(perms.VIEW_APPRAISAL)


def test_menu_shows_the_page_to_administrators_only(client, admin, archivist):
    client.force_login(admin)
    assert URL in client.get("/admin/").content.decode()
    client.force_login(archivist)
    assert URL not in client.get("/admin/").content.decode()


def test_page_lists_due_documents_of_the_jurisdiction_only_with_the_note(
    client, admin, stopped_case, other_county_case
):
    client.force_login(admin)
    response = client.get(URL, {"on": "2020-03-01"})
    assert response.status_code == 200
    body = response.content.decode()
    assert appraisal_note() in body
    assert stopped_case["card"].archival_code in body
    assert stopped_case["form"].archival_code not in body  # D30: not yet
    assert other_county_case.archival_code not in body
    assert stopped_case["person"].id_number not in body  # masked on screen
    assert "2020-03-01" in body and "2010-03" in body
    assert AuditLog.objects.filter(action="view_appraisal", user=admin).exists()


def test_page_and_export_name_the_retention_period_not_its_code(client, admin, stopped_case):
    client.force_login(admin)
    body = client.get(URL, {"on": "2040-03-01"}).content.decode()
    assert "<td>10年</td>" in body and "<td>30年</td>" in body
    assert "保管期限10年的满 10 年" in body and "（D10）" not in body
    response = client.get(URL, {"on": "2040-03-01", "format": "xlsx"})
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    periods = {row[6] for row in sheet.iter_rows(min_row=2, values_only=True) if row[6]}
    assert periods == {"10年", "30年"}


def test_county_filter_cannot_reach_outside_the_jurisdiction(
    client, admin, stopped_case, other_county_case
):
    client.force_login(admin)
    response = client.get(URL, {"on": "2020-03-01", "division": OTHER_COUNTY})
    assert other_county_case.archival_code not in response.content.decode()
    assert response.context["total"] == 1  # not a choice: ignored, own county shown
    assert response.context["form"].errors["division"]
    assert all(d.county_id == COUNTY for d in response.context["page"])


def test_a_superuser_without_division_sees_every_county_and_can_filter_one(
    client, django_user_model, stopped_case, other_county_case
):
    root = django_user_model.objects.create_superuser("root", password="pw-Secret-123")
    client.force_login(root)
    everything = client.get(URL, {"on": "2020-03-01"})
    assert everything.context["total"] == 2
    one = client.get(URL, {"on": "2020-03-01", "division": OTHER_COUNTY})
    assert [d.pk for d in one.context["page"]] == [other_county_case.pk]


def test_filters_and_pagination_on_the_page(client, admin, stopped_case):
    client.force_login(admin)
    response = client.get(URL, {"on": "2045-01-01", "period": "D30"})
    assert [d.pk for d in response.context["page"]] == [stopped_case["form"].pk]
    response = client.get(URL, {"on": "2045-01-01", "year": "2020"})
    assert [d.pk for d in response.context["page"]] == [stopped_case["card"].pk]
    response = client.get(URL, {"on": "2045-01-01", "p": "2"})
    assert response.context["page"].number == 1  # out of range → last page


def test_archivists_cannot_open_the_page(client, archivist, stopped_case):
    client.force_login(archivist)
    response = client.get(URL)
    assert response.status_code == 403 or response["Location"] == "/admin/"


def test_export_lists_the_same_rows_in_full_and_is_audited(
    client, admin, stopped_case, other_county_case
):
    client.force_login(admin)
    response = client.get(URL, {"on": "2040-03-01", "format": "xlsx"})
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment")
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    rows = [r for r in sheet.iter_rows(values_only=True) if any(r)]
    header, *data, note = rows
    assert header[:4] == ("县（区）", "姓名", "公民身份号码", "档号")
    codes = {row[3] for row in data}
    assert codes == {stopped_case["card"].archival_code, stopped_case["form"].archival_code}
    assert {row[2] for row in data} == {stopped_case["person"].id_number}
    assert {row[8] for row in data} == {"2020-03-01", "2040-03-01"}
    assert note[0] == appraisal_note()
    entry = AuditLog.objects.get(action="export_appraisal")
    assert entry.user == admin and "2040-03-01" in entry.detail


def test_nothing_is_ever_deleted_or_changed(
    client, admin, stopped_case, other_county_case, private_media
):
    """Listing, exporting and even posting to the page leave every row and file as it was."""

    def snapshot():
        return (
            list(Document.objects.order_by("pk").values()),
            list(DocumentVersion.objects.order_by("pk").values()),
            list(StoredFile.objects.order_by("pk").values()),
            stored_files(private_media),
        )

    before = snapshot()
    client.force_login(admin)
    assert client.get(URL, {"on": "2100-01-01"}).status_code == 200
    assert client.get(URL, {"on": "2100-01-01", "format": "xlsx"}).status_code == 200
    assert client.post(URL, {"on": "2100-01-01"}).status_code == 405
    assert snapshot() == before
    assert not AuditLog.objects.filter(action="delete_document").exists()


def appraisal_note() -> str:
    return "系统只列出到期档案，不会自动销毁任何材料；鉴定与销毁须按档案管理规定另行审批。"
