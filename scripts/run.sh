#!/usr/bin/env bash
# `make run`: everything from a fresh Debian machine to a running system, with embedded
# defaults (SQLite, database search, a filesystem Celery broker, demo data). Idempotent: the
# second run skips installs and the demo load, and keeps the data under DATA_DIR (./var).
# Ctrl-C stops the web server and the worker cleanly.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/bootstrap.sh run

py=.venv/bin/python
export DATA_DIR="${DATA_DIR:-$PWD/var}"
host="${HOST:-127.0.0.1}" port="${PORT:-8000}"

$py manage.py migrate --noinput -v 0
$py manage.py collectstatic --noinput -v 0
$py manage.py ensure_admin
if [ ! -f "$DATA_DIR/.demo-loaded" ]; then
  echo "==> loading demo data (once)"
  $py manage.py demo_data --scans 20 && touch "$DATA_DIR/.demo-loaded"
fi

pids=()
stop() {
  trap - INT TERM EXIT
  echo; echo "==> stopping"
  kill -TERM "${pids[@]}" 2>/dev/null || true
  wait "${pids[@]}" 2>/dev/null || true
}
trap stop INT TERM EXIT

.venv/bin/celery -A config worker --beat --loglevel INFO --concurrency 2 \
  --schedule "$DATA_DIR/celerybeat-schedule" &
pids+=($!)
.venv/bin/gunicorn config.wsgi --bind "$host:$port" --workers "${WEB_WORKERS:-2}" \
  --access-logfile - --graceful-timeout 10 --timeout 300 &
pids+=($!)

for _ in $(seq 100); do
  curl -fsS "http://$host:$port/healthz" >/dev/null 2>&1 && break
  sleep 0.2
done
echo
echo "==> 系统已启动 / running:  http://$host:$port/admin/   (public site: http://$host:$port/)"
echo "    Ctrl-C stops the web server and the worker."
wait -n "${pids[@]}"
