"""`make run` (scripts/run.sh) supervises its processes (config/supervisord.conf): a killed worker
is restarted while the web server keeps answering, a second `make run` on the same data refuses
to start a second beat, and Ctrl-C leaves no process behind."""

from __future__ import annotations

import os
import signal
import subprocess
import urllib.request
from pathlib import Path

from tests.config.test_embedded_defaults import _embedded_env, _free_port
from tests.helpers import ROOT, wait_until

CTL = [str(ROOT / ".venv/bin/supervisorctl"), "-c", str(ROOT / "config/supervisord.conf")]


def _pid(env: dict[str, str], program: str) -> int:
    done = subprocess.run([*CTL, "pid", program], env=env, capture_output=True, text=True)
    return int(done.stdout.strip() or 0) if done.stdout.strip().isdigit() else 0


def _healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as answer:
            return answer.status == 200
    except OSError:
        return False


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_make_run_restarts_a_killed_worker_and_ctrl_c_stops_everything(tmp_path: Path):
    port = _free_port()
    env = _embedded_env(tmp_path) | {"PORT": str(port), "DEMO_DATA": "0"}
    log = open(tmp_path / "run.log", "wb")  # noqa: SIM115
    run = subprocess.Popen(
        [str(ROOT / "scripts/run.sh")], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
    )
    try:
        assert wait_until(lambda: _healthy(port), 300), (tmp_path / "run.log").read_text()[-3000:]
        programs = ("web", "worker-interactive", "worker-bulk", "beat")
        assert wait_until(lambda: all(_pid(env, p) for p in programs), 60)
        web, worker, bulk, beat = (_pid(env, p) for p in programs)

        second = subprocess.run(
            [str(ROOT / "scripts/run.sh")], cwd=ROOT, env=env, capture_output=True, text=True
        )
        assert second.returncode == 1
        assert "系统已在运行" in second.stderr

        os.kill(worker, signal.SIGKILL)
        assert wait_until(lambda: _pid(env, "worker-interactive") not in (0, worker), 60)
        assert _healthy(port)
        assert _pid(env, "web") == web
        assert _pid(env, "beat") == beat
        assert _pid(env, "worker-bulk") == bulk
        restarted = _pid(env, "worker-interactive")
    finally:
        run.send_signal(signal.SIGINT)
        run.wait(timeout=90)
        log.close()
    assert wait_until(lambda: not any(_alive(p) for p in (web, beat, bulk, restarted)), 30)
