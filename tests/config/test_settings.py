"""Production hardening is switched on by DJANGO_ENV=production and refuses to start unsafe."""

import subprocess
from pathlib import Path

from tests.helpers import child_env, run_manage

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = {
    "DJANGO_ENV": "production",
    "SECRET_KEY": "x" * 20 + "-production-secret-for-the-deploy-check-0123456789",
    "ALLOWED_HOSTS": "dbbt.example.gov.cn",
}


def _manage(tmp_path: Path, extra: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    env = {
        k: v
        for k, v in child_env().items()
        if k not in {"DJANGO_ENV", "SECRET_KEY", "ALLOWED_HOSTS"}
    }
    env.update(DATA_DIR=str(tmp_path), **extra)
    return run_manage(*args, env=env)


def test_production_settings_pass_the_deploy_check(tmp_path):
    done = _manage(tmp_path, PRODUCTION, "check", "--deploy", "--fail-level", "WARNING")
    assert done.returncode == 0, done.stdout + done.stderr


def test_production_refuses_to_start_without_a_secret_key(tmp_path):
    done = _manage(tmp_path, {**PRODUCTION, "SECRET_KEY": ""}, "check")
    assert done.returncode != 0
    assert "SECRET_KEY must be set" in done.stderr


def test_production_refuses_to_start_without_allowed_hosts(tmp_path):
    done = _manage(tmp_path, {**PRODUCTION, "ALLOWED_HOSTS": ""}, "check")
    assert done.returncode != 0
    assert "ALLOWED_HOSTS must be set" in done.stderr


def test_production_refuses_a_wildcard_in_allowed_hosts(tmp_path):
    for hosts in ("*", "dbbt.example.gov.cn,*"):
        done = _manage(tmp_path, {**PRODUCTION, "ALLOWED_HOSTS": hosts}, "check")
        assert done.returncode != 0
        assert "'*' is refused in production" in done.stderr


def test_development_defaults_need_no_server(tmp_path):
    done = _manage(
        tmp_path,
        {"DATABASE_URL": "", "ELASTICSEARCH_URL": "", "CELERY_BROKER_URL": ""},
        "shell",
        "--no-imports",
        "-c",
        "from django.conf import settings as s; print(s.DATABASES['default']['ENGINE'], "
        "s.WAGTAILSEARCH_BACKENDS['default']['BACKEND'], s.CELERY_BROKER_URL, s.LANGUAGE_CODE, s.TIME_ZONE)",
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [
        "django.db.backends.sqlite3",
        "wagtail.search.backends.database",
        "filesystem://",
        "zh-hans",
        "Asia/Shanghai",
    ]


def test_the_sqlite_test_database_is_a_file_that_a_child_manage_py_can_open(tmp_path):
    # An in-memory test database is private to the pytest process: the tests that run
    # manage.py as a child (exit codes as a shell sees them) would find no tables.
    done = _manage(
        tmp_path,
        {"DATABASE_URL": ""},
        "shell",
        "--no-imports",
        "-c",
        "from django.conf import settings as s; print(s.DATABASES['default']['TEST']['NAME'])",
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith("test.sqlite3")
