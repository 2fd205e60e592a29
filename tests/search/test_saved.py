"""Saved searches (常用检索, search/saved.py and the search page): kept by name with their
words and filters, private to their owner, run as an ordinary search."""

from __future__ import annotations

import pytest
from django.urls import reverse

from archive.models import AuditLog
from search import saved
from search.models import SavedSearch
from tests.search.conftest import COUNTY, OTHER_COUNTY

pytestmark = pytest.mark.parametrize("backend", ["database"], indirect=True)


@pytest.fixture
def inspector(make_user):
    return make_user("inspector", COUNTY)


def test_a_search_saved_from_the_page_is_listed_and_runs_again(people, client, inspector):
    client.force_login(inspector)
    response = client.post(
        reverse("search_save"), {"name": "护理补贴的张姓", "q": "张", "subsidy": "nursing"}
    )
    assert response.status_code == 302
    kept = SavedSearch.objects.get(user=inspector)
    assert (kept.query, kept.filters) == ("张", {"subsidy": "nursing"})
    page = client.get(reverse("search_records"))
    [item] = page.context["saved"]
    assert item["search"] == kept and "护理补贴的张姓" in page.text
    again = client.get(reverse("search_records") + item["url"])
    assert [row["name"] for row in again.context["rows"]] == ["张三丰"]
    assert AuditLog.objects.filter(action="save_search", object_id=str(kept.pk)).exists()


def test_the_same_name_again_replaces_the_search(people, inspector):
    saved.save(inspector, "本月", "张", {})
    kept, created = saved.save(inspector, " 本月 ", "李", {"grade": "1"})
    assert not created and SavedSearch.objects.count() == 1
    assert (kept.query, kept.filters) == ("李", {"grade": "1"})


@pytest.mark.parametrize(
    ("name", "query", "filters", "reason"),
    [
        ("", "张", {}, "请填写常用检索的名称"),
        ("空的", "", {}, "请先输入检索词或选择筛选条件"),
        ("坏的", "张", {"grade": "9"}, "无效"),
        ("未知", "张", {"colour": "red"}, "筛选条件无效"),
    ],
)
def test_a_search_that_cannot_be_saved_says_why(people, inspector, name, query, filters, reason):
    with pytest.raises(saved.SavedSearchError, match=reason):
        saved.save(inspector, name, query, filters)
    assert not SavedSearch.objects.exists()


def test_a_user_keeps_at_most_the_limit(people, inspector, monkeypatch):
    monkeypatch.setattr(SavedSearch, "LIMIT_PER_USER", 2)
    saved.save(inspector, "一", "张", {})
    saved.save(inspector, "二", "李", {})
    with pytest.raises(saved.SavedSearchError, match="最多保存 2 个"):
        saved.save(inspector, "三", "王", {})
    saved.save(inspector, "二", "欧阳", {})  # replacing one is still allowed


def test_saved_searches_are_private_to_their_owner(people, client, inspector, make_user):
    kept, _ = saved.save(inspector, "我的", "张", {})
    other = make_user("other", OTHER_COUNTY)
    client.force_login(other)
    assert client.get(reverse("search_records")).context["saved"] == []
    response = client.post(reverse("search_saved_delete", args=[kept.pk]))
    assert response.status_code == 404 and SavedSearch.objects.filter(pk=kept.pk).exists()


def test_deleting_a_saved_search_is_audited(people, client, inspector):
    kept, _ = saved.save(inspector, "不用了", "张", {})
    client.force_login(inspector)
    client.post(reverse("search_saved_delete", args=[kept.pk]))
    assert not SavedSearch.objects.exists()
    assert AuditLog.objects.filter(action="delete_saved_search", object_id=str(kept.pk)).exists()


def test_a_bad_save_from_the_page_is_explained_in_chinese(people, client, inspector):
    client.force_login(inspector)
    response = client.post(reverse("search_save"), {"name": "", "q": "张"}, follow=True)
    assert "未保存：请填写常用检索的名称" in response.text
