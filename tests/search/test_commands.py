"""`find` and `search_index` (docs/commands.md): the JSON shapes and exit codes, on both
backends; `spot_check create --query/--filter` drawing its population through the search."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from archive.models import AuditLog
from inspection.models import SpotCheck
from search.models import OutboxEntry
from tests.helpers import run_manage
from tests.search.conftest import COUNTY, OTHER_COUNTY


def run(*args: str) -> dict:
    out = io.StringIO()
    call_command(*args, "--json", stdout=out)
    return json.loads(out.getvalue())


def test_find_prints_the_cli_json(people):
    data = run("find", "张三", "--limit", "5")
    assert set(data) == {"backend", "total", "hits", "facets"}
    assert data["total"] == 2
    first = data["hits"][0]
    assert set(first) == {"id_number", "name", "county", "case_file", "score", "highlight"}
    assert first["name"] == "张三" and first["id_number"] == people.zhang_san.id_number
    assert first["county"] == COUNTY and first["case_file"] == str(
        people.zhang_san.case_files.get().pk
    )
    assert first["score"] > data["hits"][1]["score"]
    assert data["facets"]["county"] == {COUNTY: 2}
    assert AuditLog.objects.filter(action="export", object_type="search").exists()


def test_find_with_a_user_and_a_division_and_filters(people, make_user):
    make_user("pingshun", COUNTY)
    assert run("find", "张伟", "--user", "pingshun")["total"] == 0
    assert run("find", "张", "--division", OTHER_COUNTY)["total"] == 1
    data = run("find", "", "--filter", "subsidy=nursing", "--filter", "status=suspended")
    assert [h["name"] for h in data["hits"]] == ["欧阳娜娜"]


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["张", "--division", "999999"], 1),
        (["张", "--user", "nobody"], 1),
        (["张", "--filter", "subsidy=gold"], 1),
    ],
)
def test_find_rejects_bad_input_with_exit_1(people, args, code):
    with pytest.raises(CommandError) as raised:
        call_command("find", *args)
    assert raised.value.returncode == code


@pytest.mark.django_db
def test_find_usage_errors_exit_2_from_a_child_process():
    done = run_manage("find", "张", "--filter", "colour=red")
    assert done.returncode == 2 and "colour" in done.stderr
    assert run_manage("find").returncode == 2


def test_search_index_status_reports_db_index_and_pending_per_kind(people, backend):
    data = run("search_index", "status")
    assert data["backend"] == backend.name
    assert set(data["kinds"]) == {"case_file", "document"}
    assert data["kinds"]["case_file"] == {"db": 7, "index": 7, "pending": 0}
    assert data["kinds"]["document"] == {"db": 2, "index": 2, "pending": 0}


def test_catch_up_indexes_what_waits(people, backend):
    people.li_si.name = "李四海"
    people.li_si.save()
    pending = run("search_index", "status")["kinds"]["case_file"]["pending"]
    assert pending == (1 if backend.name == "elasticsearch" else 0)
    data = run("search_index", "catch-up")
    assert data["kinds"]["case_file"]["pending"] == 0
    assert run("find", "李四海")["total"] == 1


def test_rebuild_swaps_in_a_new_index_with_the_same_answers(people, backend):
    before = run("find", "王庄村")
    data = run("search_index", "rebuild")
    assert data["kinds"]["case_file"] == {"db": 7, "index": 7, "pending": 0}
    assert run("find", "王庄村")["hits"] == before["hits"]
    if backend.name == "elasticsearch":
        from search.backends import get_backend
        from search.backends.elasticsearch import alias

        current = get_backend().current_index("case_file")
        assert current and current.startswith(alias("case_file") + "_")
        assert OutboxEntry.objects.filter(processed_at__isnull=True).count() == 0


def test_spot_check_draws_its_population_through_the_search(people):
    call_command(
        "spot_check", "create", "--division", COUNTY, "--size", "2", "--query", "张",
        "--seed", "s1", stdout=io.StringIO(),
    )  # fmt: skip
    spot_check = SpotCheck.objects.latest("id")
    assert spot_check.population == 2  # 张三, 张三丰 — not 张伟 of 黎城县
    assert {i.case_file.person.name for i in spot_check.items.all()} == {"张三", "张三丰"}
    call_command(
        "spot_check", "create", "--division", COUNTY, "--size", "1", "--query", "王庄村",
        "--filter", "subsidy=nursing", "--seed", "s1", stdout=io.StringIO(),
    )  # fmt: skip
    assert SpotCheck.objects.latest("id").population == 1
