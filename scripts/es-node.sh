#!/usr/bin/env bash
# A real single-node Elasticsearch 8 on 127.0.0.1, for the tests and by hand, built from Maven
# Central artifacts only (search/es-node/: the ES server jar + transport-netty4, run in-process).
#
#   scripts/es-node.sh start  [--port 9250] [--data DIR] [--transport-port N]
#                                 background; waits until the cluster is yellow (ES_NODE_TIMEOUT=120 s)
#   scripts/es-node.sh stop   [--port 9250] [--purge]
#                                 stops it; removes the data dir if it is the default temp dir
#                                 (/tmp/es-node-PORT) or --purge is given
#   scripts/es-node.sh status [--port 9250]   exit 0 when running, 3 when not
#   scripts/es-node.sh run    [--port 9250] [--data DIR]   foreground (make es), Ctrl-C stops it
#   scripts/es-node.sh build                 only (re)build search/es-node/target
#
# The data dir holds data/, logs/, es-node.log (stdout/stderr) and es-node.pid. The node runs
# inside our own JVM (no Elasticsearch bootstrap), so it works as root. Heap: ES_NODE_HEAP (1g).
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
proj="$root/search/es-node"
main_class="local.esnode.EsNodeMain"

cmd="${1:-}"; [ $# -gt 0 ] && shift
port="${ES_NODE_PORT:-9250}"; data=""; tport=""; purge=0
while [ $# -gt 0 ]; do
  case "$1" in
    --port) port="$2"; shift 2 ;;
    --data) data="$2"; shift 2 ;;
    --transport-port) tport="$2"; shift 2 ;;
    --purge) purge=1; shift ;;
    *) echo "es-node: unknown argument: $1" >&2; exit 2 ;;
  esac
done
[[ "$port" =~ ^[0-9]+$ ]] || { echo "es-node: bad --port '$port'" >&2; exit 2; }
if [ -z "$tport" ]; then
  if [ "$port" -le 65435 ]; then tport=$((port + 100)); else tport=$((port - 100)); fi
fi
default_data="/tmp/es-node-$port"
# Where `stop`/`status` find a node started with --data: one line, the data dir.
state="/tmp/es-node-$port.home"
heap="${ES_NODE_HEAP:-1g}"
timeout_s="${ES_NODE_TIMEOUT:-120}"

log() { echo "es-node: $*" >&2; }

java_bin() {
  local j="${JAVA:-java}"
  if [ -n "${JAVA_HOME:-}" ] && [ -z "${JAVA:-}" ] && [ -x "$JAVA_HOME/bin/java" ]; then j="$JAVA_HOME/bin/java"; fi
  command -v "$j" >/dev/null 2>&1 || { log "java not found (needs Java 17+; scripts/bootstrap.sh test installs it)"; exit 1; }
  echo "$j"
}

http_get() {  # URL -> body on stdout, non-zero unless HTTP 2xx
  if command -v curl >/dev/null 2>&1; then
    curl -sf --max-time 10 "$1"
  else
    python3 -c 'import sys,urllib.request; sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=10).read().decode())' "$1" 2>/dev/null
  fi
}

needs_build() {
  [ -f "$proj/target/es-node.jar" ] || return 0
  compgen -G "$proj/target/lib/elasticsearch-8*.jar" >/dev/null || return 0
  [ -n "$(find "$proj/pom.xml" "$proj/src" -newer "$proj/target/es-node.jar" -print -quit)" ]
}

build() {
  needs_build || return 0
  command -v mvn >/dev/null 2>&1 || { log "mvn not found (scripts/bootstrap.sh test installs Maven)"; exit 1; }
  (
    flock 9  # two concurrent starts must not build into the same target/ at once
    needs_build || exit 0
    log "building $proj (Maven; the first build downloads ~80 MB into ~/.m2)"
    rm -rf "$proj/target/lib"
    # offline first: after the first build everything is in ~/.m2
    if ! mvn -B -q -o -f "$proj/pom.xml" package >/dev/null 2>&1; then
      mvn -B -q -f "$proj/pom.xml" package >&2
    fi
  ) 9>"/tmp/es-node-build.lock"
}

# pid of our node for this port, or nothing
node_pid() {
  local dir pidf pid
  for dir in "$(cat "$state" 2>/dev/null || true)" "$data" "$default_data"; do
    [ -n "$dir" ] || continue
    pidf="$dir/es-node.pid"
    [ -f "$pidf" ] || continue
    pid="$(tr -dc 0-9 <"$pidf")"
    [ -n "$pid" ] || continue
    if tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$main_class .*--http-port $port "; then
      echo "$pid"; return 0
    fi
  done
  return 0
}

node_dir() {  # data dir of the running/last node for this port
  local d; d="$(cat "$state" 2>/dev/null || true)"
  if [ -n "$d" ]; then echo "$d"; elif [ -n "$data" ]; then echo "$data"; else echo "$default_data"; fi
}

java_cmd() {  # JAVA DIR -> the JVM command line, one word a line
  local dir="$2"
  printf '%s\n' "$1" "-Xms512m" "-Xmx$heap" "-XX:+UseG1GC" \
    "-XX:ErrorFile=$dir/logs/hs_err_pid%p.log" "-Djava.io.tmpdir=$dir/tmp" \
    "-Dfile.encoding=UTF-8" "-Dio.netty.noUnsafe=true" "-Dio.netty.noKeySetOptimization=true" \
    "-Dio.netty.recycler.maxCapacityPerThread=0" "-Dlog4j2.disable.jmx=true" \
    "-Dlog4j.shutdownHookEnabled=false" \
    "-cp" "$proj/target/es-node.jar:$proj/target/lib/*" "$main_class" \
    "--home" "$dir" "--http-port" "$port" "--transport-port" "$tport" \
    "--pid-file" "$dir/es-node.pid"
}

healthy() { http_get "http://127.0.0.1:$port/_cluster/health?wait_for_status=yellow&timeout=1s" >/dev/null 2>&1; }

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

prepare_dir() {
  local dir="$1"
  mkdir -p "$dir/tmp" "$dir/logs"
  echo "$dir" >"$state"
}

cmd_start() {
  local pid dir
  pid="$(node_pid)"
  if [ -n "$pid" ]; then
    dir="$(node_dir)"
    if healthy; then echo "es-node already running on http://127.0.0.1:$port (pid $pid, data $dir)"; return 0; fi
    log "pid $pid is running but not healthy yet; waiting"
  else
    for p in "$port" "$tport"; do
      if port_busy "$p"; then log "port $p on 127.0.0.1 is taken by another process"; exit 1; fi
    done
    build
    dir="${data:-$default_data}"
    mkdir -p "$dir"; dir="$(cd "$dir" && pwd)"
    prepare_dir "$dir"
    local jb; jb="$(java_bin)"
    local -a jcmd; mapfile -t jcmd < <(java_cmd "$jb" "$dir")
    rm -f "$dir/es-node.pid"
    # own session: not killed with the caller's terminal / process group
    nohup setsid "${jcmd[@]}" >"$dir/es-node.log" 2>&1 </dev/null &
    local launcher=$!
    for _ in $(seq 200); do
      { [ -s "$dir/es-node.pid" ] || ! kill -0 "$launcher" 2>/dev/null; } && break
      sleep 0.1
    done
    pid="$(node_pid)"
  fi
  local start=$SECONDS
  while ! healthy; do
    if [ -z "$(node_pid)" ] || [ $((SECONDS - start)) -ge "$timeout_s" ]; then
      if [ -z "$(node_pid)" ]; then log "the JVM exited during startup"; else log "not healthy within ${timeout_s}s"; fi
      log "last lines of $dir/es-node.log:"
      tail -n 40 "$dir/es-node.log" >&2 || true
      pid="$(node_pid)"; [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
      exit 1
    fi
    sleep 0.5
  done
  echo "es-node running on http://127.0.0.1:$port (pid $(node_pid), data $dir, log $dir/es-node.log)"
}

cmd_stop() {
  local pid dir
  pid="$(node_pid)"; dir="$(node_dir)"
  if [ -n "$pid" ]; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then log "pid $pid did not stop in 30 s; killing"; kill -KILL "$pid" 2>/dev/null || true; fi
    echo "es-node on port $port stopped (pid $pid)"
  else
    echo "es-node on port $port is not running"
  fi
  if [ "$dir" = "$default_data" ] || [ "$purge" = 1 ]; then
    rm -rf "$dir"
  else
    rm -f "$dir/es-node.pid"
  fi
  rm -f "$state"
}

cmd_status() {
  local pid; pid="$(node_pid)"
  if [ -z "$pid" ]; then echo "es-node on port $port: not running"; exit 3; fi
  local health; health="$(http_get "http://127.0.0.1:$port/_cluster/health" 2>/dev/null || echo '(no HTTP answer yet)')"
  echo "es-node on port $port: running, pid $pid, data $(node_dir)"
  echo "$health"
}

cmd_run() {
  local pid; pid="$(node_pid)"
  if [ -n "$pid" ]; then log "already running on port $port (pid $pid); stop it first"; exit 1; fi
  build
  run_dir="${data:-$default_data}"
  mkdir -p "$run_dir"; run_dir="$(cd "$run_dir" && pwd)"
  local jb; jb="$(java_bin)"
  local -a jcmd; mapfile -t jcmd < <(java_cmd "$jb" "$run_dir")
  prepare_dir "$run_dir"
  trap 'rm -f "$state"; if [ "$run_dir" = "$default_data" ]; then rm -rf "$run_dir"; fi' EXIT
  echo "es-node: http://127.0.0.1:$port (data $run_dir); Ctrl-C stops it" >&2
  # In the background + wait, so that Ctrl-C / SIGTERM reach the script, which passes them on as
  # SIGTERM (a clean node shutdown) and waits for the JVM before the EXIT trap cleans up.
  "${jcmd[@]}" &
  local jpid=$!
  trap 'kill -TERM "$jpid" 2>/dev/null || true' INT TERM HUP
  while kill -0 "$jpid" 2>/dev/null; do wait "$jpid" || true; done
}

case "$cmd" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  run) cmd_run ;;
  build) build ;;
  *) echo "usage: $0 start|stop|status|run|build [--port N] [--data DIR] [--transport-port N] [--purge]" >&2; exit 2 ;;
esac
