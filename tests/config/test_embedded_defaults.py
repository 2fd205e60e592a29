"""The embedded defaults (`make run` without any server): SQLite, database search and the
filesystem broker work end to end in fresh processes, exactly as a new engineer gets them."""

import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from tests.helpers import child_env, run_manage

ROOT = Path(__file__).resolve().parents[2]
SERVICE_VARS = ("DATABASE_URL", "ELASTICSEARCH_URL", "CELERY_BROKER_URL", "CELERY_RESULT_BACKEND")


def _embedded_env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in child_env().items() if k not in SERVICE_VARS}
    env.update(DATA_DIR=str(data_dir), ADMIN_PASSWORD="smoke-test-password-1")
    return env


def _manage(env: dict[str, str], *args: str) -> str:
    done = run_manage(*args, env=env, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_embedded_defaults_serve_the_admin_and_run_a_task(tmp_path):
    env = _embedded_env(tmp_path)
    _manage(env, "migrate", "--noinput", "-v", "0")
    assert (tmp_path / "db.sqlite3").exists()
    assert "administrator created" in _manage(env, "ensure_admin")
    assert "administrator exists" in _manage(env, "ensure_admin")

    port = _free_port()
    web = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "config.wsgi", "--bind", f"127.0.0.1:{port}"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    worker_log = tmp_path / "worker.log"
    with open(worker_log, "wb") as log:
        worker = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                "--concurrency",
                "1",
                "--without-gossip",
                "--without-mingle",
                "--loglevel",
                "INFO",
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        body = _get(f"http://127.0.0.1:{port}/admin/login/")
        assert "登录" in body
        _manage(env, "shell", "-c", "from config.celery import ping; ping.delay()")
        deadline = time.monotonic() + 60
        while "system.ping" not in worker_log.read_text(errors="replace") or (
            "succeeded" not in worker_log.read_text(errors="replace")
        ):
            assert time.monotonic() < deadline, worker_log.read_text(errors="replace")[-3000:]
            time.sleep(0.5)
    finally:
        for proc in (web, worker):
            proc.terminate()
            proc.wait(timeout=30)


def _get(url: str) -> str:
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310
                return response.read().decode()
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)
