"""`compare` (docs/commands.md): the exact JSON, the stored run, exit codes 0/1/2, jurisdiction."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError

from review.models import ComparisonRun, RosterUpload
from tests.review.conftest import cert_base_rows

ROOT = settings.BASE_DIR


def _compare(*args: str) -> dict:
    out = io.StringIO()
    call_command("compare", *args, stdout=out, stderr=io.StringIO())
    return json.loads(out.getvalue())


@pytest.mark.django_db
def test_json_has_exactly_the_documented_shape(demo_people, planted, roster_file):
    dead = planted["GRADE3_PHYSICAL_WITH_NURSING"]
    death = roster_file(
        "death", [{"姓名": dead.name, "公民身份号码": dead.id_number, "死亡日期": "2026-10-15"}]
    )
    payload = _compare(
        "--as-of", "2026-11-30", "--division", "140425", "--roster", f"death={death}", "--json"
    )
    assert set(payload) == {"run", "as_of", "division", "checked", "findings"}
    assert payload["as_of"] == "2026-11-30"
    assert payload["division"] == "140425"
    run = ComparisonRun.objects.get(pk=payload["run"])
    assert payload["checked"] == run.checked > 0
    assert len(payload["findings"]) == run.findings.count()
    deceased = next(f for f in payload["findings"] if f["code"] == "DECEASED")
    assert deceased == {
        "id_number": dead.id_number,
        "name": dead.name,
        "code": "DECEASED",
        "subsidy": "both",
        "action": "STOP",
        "event_date": "2026-10-15",
        "evidence": {"roster": "death", "row": 2, "values": {"死亡日期": "2026-10-15"}},
    }
    for finding in payload["findings"]:
        assert set(finding) == set(deceased)
        assert finding["subsidy"] in ("living", "nursing", "both", None)
        assert finding["action"] in ("STOP", "SUSPEND", "NOTIFY", "WARN", "FIX_DATA")
        assert set(finding["evidence"]) == {"roster", "row", "values"}


@pytest.mark.django_db
def test_command_stores_rosters_as_uploads_and_the_run(demo_people, roster_file):
    base = roster_file("cert_base", cert_base_rows(demo_people))
    payload = _compare(
        "--as-of", "2026-11-30", "--division", "140400", "--roster", f"cert_base={base}", "--json"
    )
    run = ComparisonRun.objects.select_related("job").get(pk=payload["run"])
    assert run.trigger == ComparisonRun.Trigger.COMMAND
    # run here, as a job like any other (listed in 我的任务, covered by the reaper)
    assert (run.job.kind, run.job.state, run.job.percent) == ("comparison", "done", 100)
    upload = RosterUpload.objects.get()
    assert list(run.rosters.all()) == [upload]
    assert upload.kind == "cert_base" and upload.period.isoformat() == "2026-11-01"
    assert "CERT_CHANGED" not in {f["code"] for f in payload["findings"]}


@pytest.mark.django_db
def test_findings_are_not_a_failure_and_null_fields_are_json_null(demo_people):
    payload = _compare("--as-of", "2026-11-30", "--division", "140400", "--json")
    mismatch = next(f for f in payload["findings"] if f["code"] == "CERT_CODE_MISMATCH")
    assert mismatch["subsidy"] is None and mismatch["event_date"] is None
    assert mismatch["evidence"]["roster"] is None


@pytest.mark.django_db
def test_user_outside_jurisdiction_is_rejected(demo_people, make_user):
    make_user("county", "140425")
    with pytest.raises(CommandError) as error:
        call_command("compare", "--as-of", "2026-11-30", "--division", "140426", "--user", "county")
    assert error.value.returncode == 1
    assert not ComparisonRun.objects.exists()


@pytest.mark.django_db
def test_human_output_lists_not_evaluated_rules(demo_people):
    out = io.StringIO()
    call_command("compare", "--as-of", "2026-11-30", "--division", "140425", stdout=out)
    text = out.getvalue()
    assert "未比对：死亡（DECEASED），缺少死亡人员" in text
    assert "比对批次 #" in text


def _run(*args: str, env_db: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": env_db}
    return subprocess.run(
        [sys.executable, "manage.py", "compare", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )


@pytest.fixture
def test_db_url() -> str:
    db = settings.DATABASES["default"]
    if not db["ENGINE"].endswith("postgresql"):
        pytest.skip("the subprocess tests need the PostgreSQL test database")
    return f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_exit_codes(test_db_url, tmp_path, roster_file):
    ok = _run("--as-of", "2026-11-30", "--division", "140425", "--json", env_db=test_db_url)
    assert ok.returncode == 0, ok.stderr
    assert ok.stderr == ""
    assert set(json.loads(ok.stdout)) == {"run", "as_of", "division", "checked", "findings"}

    wrong = tmp_path / "wrong.csv"
    wrong.write_text("姓名,公民身份号码\n张三,140425199001011234\n", encoding="utf-8")
    rejected = _run(
        "--as-of", "2026-11-30", "--division", "140425", "--roster", f"death={wrong}",
        env_db=test_db_url,
    )  # fmt: skip
    assert rejected.returncode == 1
    assert "死亡日期" in rejected.stderr

    unknown = _run("--as-of", "2026-11-30", "--division", "999999", env_db=test_db_url)
    assert unknown.returncode == 1

    for usage in (
        ("--as-of", "30/11/2026", "--division", "140425"),
        ("--as-of", "2026-11-30", "--division", "140425", "--roster", "funeral=x.csv"),
        ("--as-of", "2026-11-30", "--division", "140425", "--roster", f"death={tmp_path}/no.csv"),
        ("--division", "140425"),
    ):
        result = _run(*usage, env_db=test_db_url)
        assert result.returncode == 2, (usage, result.stderr)
