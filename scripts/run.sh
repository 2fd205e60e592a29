#!/usr/bin/env bash
# `make run`: everything from a fresh Debian machine to a running system, with embedded
# defaults (SQLite, database search, a filesystem Celery broker, demo data). Idempotent: the
# second run skips installs and the demo load, and keeps the data under DATA_DIR (./var).
# Ctrl-C stops the web server, the worker and beat cleanly (config/supervisord.conf).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/bootstrap.sh run

py=.venv/bin/python
export DATA_DIR="${DATA_DIR:-$PWD/var}"
host="${HOST:-127.0.0.1}" port="${PORT:-8000}"
mkdir -p "$DATA_DIR"

# One `make run` per data directory: a second one would start a second beat.
exec 9>"$DATA_DIR/run.lock"
if ! flock -n 9; then
  echo "系统已在运行 / already running with DATA_DIR=$DATA_DIR" >&2
  exit 1
fi

$py manage.py migrate --noinput -v 0
$py manage.py collectstatic --noinput -v 0
$py manage.py ensure_admin
if [ "${DEMO_DATA:-1}" = 1 ] && [ ! -f "$DATA_DIR/.demo-loaded" ]; then
  echo "==> loading demo data (once)"
  $py manage.py demo_data --scans 20 && touch "$DATA_DIR/.demo-loaded"
fi

# supervisord (config/supervisord.conf) runs web, the two workers and beat: one of them dying is
# restarted without taking the others down, and Ctrl-C stops all three with their children.
# One worker per queue (settings CELERY_TASK_ROUTES): interactive work never waits behind OCR.
export ROOT="$PWD" VENV="$PWD/.venv" HOST="$host" PORT="$port" WEB_WORKERS="${WEB_WORKERS:-2}"
export INTERACTIVE_CONCURRENCY="${INTERACTIVE_CONCURRENCY:-1}" BULK_CONCURRENCY="${BULK_CONCURRENCY:-1}"
( for _ in $(seq 150); do
    curl -fsS "http://$host:$port/healthz" >/dev/null 2>&1 && break
    sleep 0.2
  done
  echo
  echo "==> 系统已启动 / running:  http://$host:$port/admin/   (public site: http://$host:$port/)"
  echo "    Ctrl-C stops the web server, the worker and beat."
) &
exec .venv/bin/supervisord -n -c config/supervisord.conf
