"""The beneficiaries a comparison reads from the database (review/services/beneficiaries.py):
the same file whether PostgreSQL writes it by COPY or Python streams it, and the values the
engine expects in each column."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from django.db import connection

from review.engine import BENEFICIARY_COLUMNS
from review.services.beneficiaries import write_beneficiaries
from tests.review.conftest import CITY

pytestmark = pytest.mark.django_db


def _read(path: Path) -> list[tuple]:
    return duckdb.sql(
        "SELECT * FROM read_csv($path, header = true, auto_detect = false, columns = $columns,"
        " nullstr = '', quote = '\"', escape = '\"', delim = ',') ORDER BY enrolment_key",
        params={"path": str(path), "columns": BENEFICIARY_COLUMNS},
    ).fetchall()


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="COPY is PostgreSQL's; elsewhere Python writes"
)
def test_copy_and_python_write_the_same_beneficiaries(demo_people, tmp_path):
    write_beneficiaries(CITY[:4], tmp_path / "copy.csv", copy=True)
    write_beneficiaries(CITY[:4], tmp_path / "python.csv", copy=False)
    by_copy = _read(tmp_path / "copy.csv")
    assert by_copy == _read(tmp_path / "python.csv")
    assert len(by_copy) > 10


def test_each_beneficiary_row_carries_what_the_engine_reads(demo_people, planted, tmp_path):
    write_beneficiaries(CITY[:4], tmp_path / "b.csv")
    rows = {r[1]: dict(zip(BENEFICIARY_COLUMNS, r, strict=True)) for r in _read(tmp_path / "b.csv")}
    person = planted["GRADE3_PHYSICAL_WITH_NURSING"]
    row = rows[person.id_number]
    enrolment = person.enrolments.first()
    assert row["enrolment_key"] == f"{person.pk}:{enrolment.county_id}"
    assert row["name"] == person.name and row["county_code"] == enrolment.county_id
    assert row["division_code"] == person.hukou_code  # 户籍 inside the paying county
    certificate = person.certificates.get(is_current=True)
    assert (row["cert_number"], row["category"], row["grade"]) == (
        certificate.number,
        certificate.category,
        certificate.grade,
    )
    assert row["receives_nursing"] is True
    assert row["start_month"] == min(e.start_month for e in person.enrolments.all())
    unenrolled = planted["NOT_ENROLLED"]
    assert unenrolled.id_number not in rows  # no enrolment, no beneficiary row


def test_a_stopped_enrolment_is_not_received_and_a_county_with_only_stopped_ones_is_no_row(
    demo_people, planted, tmp_path
):
    from archive.models import Enrolment

    person = planted["GRADE3_PHYSICAL_WITH_NURSING"]
    living = person.enrolments.get(subsidy="living")
    nursing = person.enrolments.get(subsidy="nursing", county_id=living.county_id)
    Enrolment.objects.filter(pk=living.pk).update(status=Enrolment.Status.STOPPED)
    write_beneficiaries(CITY[:4], tmp_path / "b.csv")
    rows = {r[1]: dict(zip(BENEFICIARY_COLUMNS, r, strict=True)) for r in _read(tmp_path / "b.csv")}
    row = rows[person.id_number]
    assert (row["receives_living"], row["receives_nursing"]) == (False, True)
    assert row["start_month"] == nursing.start_month  # the stopped one's start does not count

    Enrolment.objects.filter(pk=nursing.pk).update(status=Enrolment.Status.STOPPED)
    write_beneficiaries(CITY[:4], tmp_path / "b.csv")
    assert person.id_number not in {r[1] for r in _read(tmp_path / "b.csv")}
