#!/usr/bin/env bash
# `make test`: installs what the tests need, starts PostgreSQL, Redis and an Elasticsearch 8
# node on loopback ports, runs the whole suite against them, and stops them again whatever
# happens. Extra arguments go to pytest (e.g. `make test ARGS="-k import"`).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/bootstrap.sh test

export PG_PORT="${PG_PORT:-55432}" REDIS_PORT="${REDIS_PORT:-56379}" ES_PORT="${ES_PORT:-59200}"
export SERVICES_DIR="${SERVICES_DIR:-$(mktemp -d /tmp/subsidy-test-XXXXXX)}"

cleanup() {
  scripts/es-node.sh stop --port "$ES_PORT" >/dev/null 2>&1 || true
  scripts/services.sh stop redis || true
  scripts/services.sh stop pg || true
  rm -rf "$SERVICES_DIR"
}
trap cleanup EXIT INT TERM

scripts/services.sh start pg
scripts/services.sh start redis
scripts/es-node.sh start --port "$ES_PORT" --data "$SERVICES_DIR/es"

export DATABASE_URL="postgres://postgres@127.0.0.1:$PG_PORT/subsidy"
export CELERY_BROKER_URL="redis://127.0.0.1:$REDIS_PORT/0"
export CELERY_RESULT_BACKEND="redis://127.0.0.1:$REDIS_PORT/1"
export ELASTICSEARCH_URL="http://127.0.0.1:$ES_PORT"
export DATA_DIR="$SERVICES_DIR/data"
# Tests that need a service fail when it is missing (never skip): conftest reads this.
export REQUIRE_SERVICES=1

.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/lint-imports --no-cache
.venv/bin/python -m pytest "$@"
