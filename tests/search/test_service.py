"""The search service on both backends: the same hits for names, numbers, phrases and places,
exact matches first, facets, jurisdiction inside the query, and every search audited."""

from __future__ import annotations

from datetime import datetime, time

import pytest
from django.utils import timezone

from archive.models import AuditLog, DataFlag
from core.numbers import to_halfwidth
from search import service
from tests.search.conftest import COUNTY, OTHER_COUNTY, TODAY

#: When the tests' data flags are raised and cleared: a moment of TODAY, not the real clock.
FLAGGED_AT = timezone.make_aware(datetime.combine(TODAY, time(9)))


def raise_data_flag(person) -> DataFlag:
    return DataFlag.objects.create(
        person=person, code="CERT_CODE_MISMATCH", message="证号与登记的等级不一致",
        raised_at=FLAGGED_AT,
    )  # fmt: skip


def names(query: str, **kwargs) -> list[str]:
    result = service.search(query, today=TODAY, **kwargs)
    assert result.total == len(result.hits)
    return [hit.name for hit in result.hits]


def test_one_character_is_a_surname_prefix(people):
    assert sorted(names("张")) == ["张三", "张三丰", "张伟"]
    assert names("欧") == ["欧阳娜娜"]


def test_two_and_three_character_names(people):
    assert names("张三") == ["张三", "张三丰"]
    assert names("张三丰") == ["张三丰"]
    assert names("小明") == ["王小明"]
    assert names("阳娜") == ["欧阳娜娜"]
    assert names("三张") == []


def test_an_exact_name_ranks_first_with_a_higher_score(people):
    result = service.search("张三", today=TODAY)
    assert [h.name for h in result.hits] == ["张三", "张三丰"]
    assert result.hits[0].score > result.hits[1].score


def test_a_commitment_letter_phrase_in_ocr_text_is_found_and_highlighted(people):
    result = service.search("如有虚假愿承担相应责任", today=TODAY)
    assert [h.name for h in result.hits] == ["李四"]
    assert "<mark>" in result.hits[0].highlight
    # punctuation separates phrases the same way on both backends: a phrase never spans it
    assert names("信息真实准确，如有虚假") == ["李四"]
    assert names("信息真实准确 如有虚假") == ["李四"]
    assert names("真实准确如有虚假") == []
    assert names("承诺虚假") == []


@pytest.mark.parametrize(
    ("query", "expected"),
    [("东王庄村", ["张三"]), ("西王庄村", ["张三丰"]), ("王庄村", ["张三", "张三丰"])],
)
def test_a_village_finds_its_people_only(people, query, expected):
    assert sorted(names(query)) == sorted(expected)


@pytest.mark.parametrize("length", [4, 5, 6])
def test_the_last_digits_of_an_id_number_find_the_person(people, length):
    assert names(people.wang.id_number[-length:]) == ["王小明"]


@pytest.mark.parametrize("part", [slice(-8, None), slice(6, 14), slice(-12, -2)])
def test_seven_or_more_characters_from_anywhere_in_a_number_find_the_person(people, part):
    """A birth date or the last 8 characters: "any part of a number" (docs/commands.md)."""
    assert "王小明" in names(people.wang.id_number[part])


def test_a_short_part_from_the_middle_of_a_number_is_not_a_match(people):
    middle = people.wang.id_number[8:12]
    assert not people.wang.id_number.endswith(middle)
    assert "王小明" not in names(middle)


def test_a_full_id_with_lower_case_x_or_full_width_digits_is_normalised(people):
    number = people.x_person.id_number
    assert number.endswith("X")
    assert names(number.lower()) == ["赵六"]
    full_width = "".join(chr(ord(c) + 0xFEE0) if c.isdigit() else c for c in number.lower())
    assert to_halfwidth(full_width).upper() == number
    assert names(full_width) == ["赵六"]
    assert names(" ".join([number[:6], number[6:14], number[14:]])) == ["赵六"]


def test_a_certificate_number_is_found_and_exact_numbers_score_high(people):
    number = people.zhang_san.certificates.get().number
    result = service.search(number, today=TODAY)
    assert [h.name for h in result.hits] == ["张三"]
    assert result.hits[0].score == 10.0


def test_facets_count_the_hits(people):
    result = service.search("", today=TODAY)
    assert result.total == 7
    facets = result.facets
    assert facets["county"] == {COUNTY: 6, OTHER_COUNTY: 1}
    assert facets["subsidy"] == {"living": 6, "nursing": 2}
    assert facets["status"] == {"active": 6, "suspended": 1}
    assert facets["category"] == {"4": 1, "1": 1, "5": 1}
    assert facets["family_type"] == {"低保": 6, "一般": 1}
    assert facets["flag"]["cert_expired"] == 1
    assert facets["flag"]["cert_expiring"] == 1
    assert facets["flag"]["no_certificate"] == 4
    assert facets["flag"]["not_reviewed"] == 7
    assert facets["township"]["140425100"] == 6


@pytest.mark.parametrize("backend", ["elasticsearch"], indirect=True)
@pytest.mark.parametrize(
    ("query", "filters"),
    [
        ("", {}),
        ("张", {}),
        ("王庄", {}),
        ("", {"subsidy": "nursing"}),
        ("", {"county": COUNTY, "flag": "no_certificate"}),
    ],
)
def test_the_database_counts_the_same_facets_as_elasticsearch(people, backend, query, filters):
    from search.backends import get_backend
    from search.backends.database import DatabaseBackend
    from search.query import Dates, Request, parse

    raise_data_flag(people.zhang_san)
    backend.index_now()
    request = Request(parse(query), [], filters, Dates(TODAY))
    elasticsearch = get_backend().search(request)
    assert elasticsearch.backend == "elasticsearch" and elasticsearch.total
    assert DatabaseBackend().search(request).facets == elasticsearch.facets


def test_filters_narrow_inside_the_query(people):
    assert sorted(names("", filters={"subsidy": "nursing"})) == ["张三丰", "欧阳娜娜"]
    assert names("", filters={"subsidy": "nursing", "status": "suspended"}) == ["欧阳娜娜"]
    assert names("张", filters={"grade": "1"}) == ["张三丰"]
    assert names("", filters={"flag": "cert_expired"}) == ["王小明"]
    assert names("", filters={"family_type": "一般"}) == ["王小明"]
    assert names("", filters={"township": "140426100"}) == ["张伟"]


def test_jurisdiction_is_a_filter_inside_the_query(people, make_user):
    county_inspector = make_user("pingshun", COUNTY)
    assert sorted(names("张", user=county_inspector)) == ["张三", "张三丰"]
    assert names("张伟", user=county_inspector) == []
    assert names("张伟", user=make_user("licheng", OTHER_COUNTY)) == ["张伟"]
    assert names("张", user=make_user("nobody", None)) == []
    assert names("张", division=OTHER_COUNTY) == ["张伟"]


def test_every_search_is_audited_with_who_what_and_how_many(people, make_user):
    user = make_user("pingshun", COUNTY)
    service.search("张三", user=user, today=TODAY)
    entry = AuditLog.objects.filter(action="search").latest("id")
    assert entry.username == "pingshun"
    assert "张三" in entry.detail and "命中 2" in entry.detail


def test_paging_keeps_the_order(people):
    first = service.search("", today=TODAY, limit=3)
    second = service.search("", today=TODAY, offset=3, limit=3)
    everyone = service.search("", today=TODAY, limit=10)
    assert [h.case_file for h in first.hits + second.hits] == [
        h.case_file for h in everyone.hits[:6]
    ]


def test_an_open_finding_flags_the_case_file_until_a_later_run_resolves_it(people, backend):
    from datetime import date

    from review.models import ComparisonRun, Finding
    from review.signals import run_finished

    def finish(as_of: date, *found) -> ComparisonRun:
        run = ComparisonRun.objects.create(
            division_id=COUNTY, as_of=as_of, status=ComparisonRun.Status.FINISHED
        )
        Finding.objects.bulk_create(
            Finding(
                run=run, person=p, county_id=COUNTY, id_number=p.id_number, name=p.name,
                code="DECEASED", action="STOP", key=f"DECEASED:{p.id_number}",
            )
            for p in found
        )  # fmt: skip
        run_finished.send(sender=ComparisonRun, run=run, previous=None)
        return run

    first = finish(date(2026, 10, 31), people.wang)
    backend.index_now()
    assert names("", filters={"flag": "open_finding"}) == ["王小明"]
    second = finish(date(2026, 11, 30))
    run_finished.send(sender=ComparisonRun, run=second, previous=first)
    backend.index_now()
    assert names("", filters={"flag": "open_finding"}) == []


def test_highlights_mark_the_address_and_escape_the_text(people, backend):
    from tests.search.conftest import scan

    assert "<mark>" in service.search("东王庄村", today=TODAY).hits[0].highlight
    scan(people.ouyang, "<script>alert(1)</script> 低保证明材料")
    backend.index_now()
    highlight = service.search("低保证明", today=TODAY).hits[0].highlight
    assert "<script>" not in highlight and "&lt;script&gt;" in highlight
    assert "<mark>" in highlight


def test_an_open_data_flag_is_a_facet_and_a_filter_until_it_is_cleared(people, backend):
    flag = raise_data_flag(people.wang)
    backend.index_now()
    assert names("", filters={"flag": "data_flag"}) == ["王小明"]
    assert service.search("", today=TODAY).facets["flag"]["data_flag"] == 1
    flag.cleared_at = FLAGGED_AT
    flag.save()
    backend.index_now()
    assert names("", filters={"flag": "data_flag"}) == []


def test_a_sort_orders_the_hits_the_same_on_both_backends(people, backend):
    from archive.models import CaseFile
    from search import sync

    for person, value in ((people.li_si, 90), (people.wang, 10), (people.zhang_san, 50)):
        CaseFile.objects.filter(person=person).update(completeness=value)
    sync.enqueue("case_file", CaseFile.objects.values_list("pk", flat=True))
    backend.index_now()
    least_complete = service.search("", today=TODAY, sort="completeness", limit=10).hits
    values = [h.extra["completeness"] for h in least_complete]
    assert values == sorted(values) and values[-1] == 90
    by_county = [h.county for h in service.search("", today=TODAY, sort="county", limit=10).hits]
    assert by_county == sorted(by_county)
    default = service.search("张三", today=TODAY).hits
    assert default[0].name == "张三"  # relevance: the exact name first


def test_an_unknown_sort_is_refused_in_chinese(people):
    from search.query import FilterError

    with pytest.raises(FilterError, match="排序方式“name”无效"):
        service.search("", today=TODAY, sort="name")


@pytest.mark.parametrize("backend", ["database"], indirect=True)
def test_many_hits_are_counted_and_paged_as_few_are(people, backend, monkeypatch):
    from search.backends import database
    from search.query import Dates, Request, parse

    request = Request(parse(""), [], {}, Dates(TODAY), limit=3)
    few = database.DatabaseBackend().search(request)
    monkeypatch.setattr(database, "FEW_HITS", 2)
    many = database.DatabaseBackend().search(request)
    assert many.total == few.total == 7
    assert many.hits == few.hits
    assert many.facets == few.facets
