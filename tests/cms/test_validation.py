"""Validation of a policy document as the admin form runs it (Model.full_clean)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from cms.visibility import REPEALED, VALID

pytestmark = pytest.mark.django_db


def _draft(**fields):
    from cms.models import PolicyIndexPage, PolicyPage

    values = {
        "title": "校验测试文件",
        "slug": "validation",
        "doc_number": "晋民发〔2024〕3号",
        "body": "<p>正文</p>",
    }
    values.update(fields)
    page = PolicyPage(**values)
    index = PolicyIndexPage.objects.get()
    # Placed under the policy index without saving, as the admin form's instance is.
    page.path = index.path + "00ZZ"
    page.depth = index.depth + 1
    page.set_url_path(index)
    return page


def _errors(page) -> dict:
    with pytest.raises(ValidationError) as caught:
        page.full_clean()
    return caught.value.message_dict


def test_doc_number_typed_with_square_brackets_is_stored_with_hexagonal_ones(cms_home):
    page = _draft(doc_number="晋民发 [2024] 03号")
    page.full_clean()
    assert page.doc_number == "晋民发〔2024〕3号"


def test_malformed_doc_number_is_refused_with_a_chinese_message(cms_home):
    errors = _errors(_draft(doc_number="晋民发2024年3号"))
    assert "六角括号" in errors["doc_number"][0]


def test_doc_number_already_used_by_another_document_is_refused(cms_home):
    errors = _errors(_draft(doc_number="晋民发[2023]1号"))
    assert "已被" in errors["doc_number"][0]


def test_a_valid_document_cannot_name_a_replacement(cms_home):
    from cms.models import PolicyPage

    shanxi = PolicyPage.objects.get(doc_number="晋民发〔2023〕1号")
    errors = _errors(_draft(validity=VALID, replaced_by=shanxi))
    assert "replaced_by" in errors
    _draft(validity=REPEALED, replaced_by=shanxi).full_clean()


def test_issue_date_cannot_precede_the_date_of_writing(cms_home):
    errors = _errors(_draft(written_date=dt.date(2024, 3, 2), issued_date=dt.date(2024, 3, 1)))
    assert "印发日期" in errors["issued_date"][0]


def test_year_for_filtering_comes_from_the_doc_number(cms_home):
    from tests.cms.helpers import publish_policy

    page = publish_policy(
        title="年份测试", doc_number="晋民发(2021)2号", slug="year", issued_date=dt.date(2022, 1, 3)
    )
    assert page.doc_number == "晋民发〔2021〕2号"
    assert page.year == 2021
