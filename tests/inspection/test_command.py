"""`spot_check create|show` from a real child process: the JSON of docs/commands.md and the exit codes."""

from __future__ import annotations

import json

import pytest

from inspection.models import SpotCheck
from tests.helpers import run_manage
from tests.inspection.conftest import COUNTY, OTHER_COUNTY, TOWN_A, TOWN_B

#: The child process sees only committed rows: tests that need data commit it, and restore the
#: built-in divisions afterwards.
committed = pytest.mark.django_db(transaction=True, serialized_rollback=True)
pytestmark = pytest.mark.django_db


@committed
def test_create_prints_the_cli_json_and_show_prints_the_same(people):
    done = run_manage(
        "spot_check", "create", "--division", COUNTY, "--size", "6",
        "--stratify", "township", "--seed", "审计-2026", "--json",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert set(data) == {"id", "seed", "population", "population_hash", "items"}
    assert data["seed"] == "审计-2026" and data["population"] == 30
    assert len(data["population_hash"]) == 64 and len(data["items"]) == 6
    townships = [i["township"] for i in data["items"]]
    assert townships.count(TOWN_A) == 4 and townships.count(TOWN_B) == 2
    assert all(i["id_number"][:6] == COUNTY for i in data["items"])
    shown = run_manage("spot_check", "show", str(data["id"]), "--json")
    assert shown.returncode == 0 and json.loads(shown.stdout) == data
    again = run_manage(
        "spot_check", "create", "--division", COUNTY, "--size", "6",
        "--stratify", "township", "--seed", "审计-2026", "--json",
    )  # fmt: skip
    assert json.loads(again.stdout)["items"] == data["items"]
    other = run_manage("spot_check", "create", "--division", OTHER_COUNTY, "--size", "50", "--json")
    other_data = json.loads(other.stdout)
    assert other_data["population"] == 5
    assert all(i["id_number"][:6] == OTHER_COUNTY for i in other_data["items"])


@committed
def test_create_with_percent_filters_a_query_and_a_statistical_plan(people):
    done = run_manage(
        "spot_check", "create", "--division", COUNTY, "--percent", "10",
        "--filter", "subsidy=nursing", "--json",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["population"] == 10 and len(data["items"]) == 1 and len(data["seed"]) == 16
    plan = run_manage(
        "spot_check", "create", "--division", COUNTY, "--plan", "attribute",
        "--confidence", "95", "--error-rate", "5", "--json",
    )  # fmt: skip
    assert plan.returncode == 0, plan.stderr
    assert len(json.loads(plan.stdout)["items"]) == 30  # 59 capped at the population
    stored = SpotCheck.objects.get(pk=json.loads(plan.stdout)["id"])
    assert "59" in stored.explanation
    gbt = run_manage("spot_check", "create", "--division", COUNTY, "--plan", "gbt2828")
    assert gbt.returncode == 0 and "样本量字码 D" in gbt.stdout  # 26–50 → D → 8


@pytest.mark.parametrize(
    "args",
    [
        ("--size", "3", "--percent", "5"),
        (),
        ("--size", "0"),
        ("--size", "3", "--filter", "colour=red"),
        ("--size", "3", "--filter", "nofield"),
        ("--size", "3", "--stratify", "village"),
    ],
)
def test_usage_errors_exit_2(args):
    done = run_manage("spot_check", "create", "--division", COUNTY, *args, "--json")
    assert done.returncode == 2, done.stderr
    assert done.stdout == ""


def test_show_without_an_id_is_a_usage_error():
    assert run_manage("spot_check", "show").returncode == 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--division", "999999", "--size", "3"), "区划代码不存在"),
        (("--division", COUNTY, "--size", "3", "--filter", "subsidy=gold"), "补贴类别"),
        (("--division", COUNTY, "--size", "3", "--query", "无此人"), "总体为空"),
    ],
)
def test_rejected_input_exits_1_with_the_reason(args, message):
    done = run_manage("spot_check", "create", *args, "--json")
    assert done.returncode == 1 and message in done.stderr
    assert done.stdout == ""


def test_show_of_a_missing_spot_check_exits_1():
    done = run_manage("spot_check", "show", "424242", "--json")
    assert done.returncode == 1 and "抽查不存在" in done.stderr
