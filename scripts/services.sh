#!/usr/bin/env bash
# Starts and stops the throw-away PostgreSQL and Redis servers the test suite runs against, on
# loopback ports, with their data in a temporary directory.
#   scripts/services.sh start|stop pg|redis
# Ports and the directory come from PG_PORT (55432), REDIS_PORT (56379), SERVICES_DIR.
set -euo pipefail

action="$1"; service="$2"
dir="${SERVICES_DIR:-/tmp/subsidy-test-services}"
pg_port="${PG_PORT:-55432}"
redis_port="${REDIS_PORT:-56379}"
mkdir -p "$dir"

pg_bin() { ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1; }
as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

case "$action:$service" in
  start:pg)
    bin=$(pg_bin); data="$dir/pg"
    if [ ! -f "$data/PG_VERSION" ]; then
      mkdir -p "$data"; [ "$(id -u)" -eq 0 ] && chown postgres: "$data" "$dir"
      as_pg "$bin/initdb" -D "$data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >/dev/null
    fi
    if ! as_pg "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1; then
      as_pg "$bin/pg_ctl" -D "$data" -l "$data/log" -w -t 60 start \
        -o "-p $pg_port -k $data -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" >/dev/null
    fi
    echo "postgres on 127.0.0.1:$pg_port"
    ;;
  stop:pg)
    bin=$(pg_bin); data="$dir/pg"
    [ -d "$data" ] && as_pg "$bin/pg_ctl" -D "$data" -m fast -w stop >/dev/null 2>&1 || true
    rm -rf "$data"
    ;;
  start:redis)
    redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no \
      --daemonize yes --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" --dir "$dir"
    for _ in $(seq 50); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.1; done
    echo "redis on 127.0.0.1:$redis_port"
    ;;
  stop:redis)
    redis-cli -p "$redis_port" shutdown nosave >/dev/null 2>&1 || true
    ;;
  *) echo "usage: $0 start|stop pg|redis" >&2; exit 2 ;;
esac
