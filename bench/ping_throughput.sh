#!/usr/bin/env bash
# Ping throughput: Vigil's /ping/<uuid> against a hello-world Django app, same gunicorn command.
#
# For each backend (PostgreSQL, then SQLite in embedded mode):
#   1. a fresh database, `migrate`, 10,000 monitors (bench/seed.py, which also writes their
#      ping uuids as a Lua table);
#   2. `gunicorn monitorsite.wsgi --config python:monitorsite.gunicorn_conf -w 2` (the server
#      settings of `make run` and docker-compose.yml: threaded workers), warm-up, then `wrk -t2 -c16` for DURATION with
#      bench/random_ping.lua (a random monitor per request, statuses counted, nothing left in
#      flight at the end);
#   3. the same for `gunicorn bench.hello_app:application -w 2` (no middleware, no database);
#   4. req/s, p99 and the ratio Vigil / hello; then the ping rows written during the measured
#      run must equal the 200s wrk received (every acknowledged ping committed).
# Targets: ratio >= 0.5 on PostgreSQL, >= 0.2 on SQLite. Exits non-zero on a row-count mismatch
# (or any failure); a missed ratio target is reported, not fatal (STRICT=1 makes it fatal).
#
# Environment (all optional):
#   DURATION=10s        measured window per app (wrk's -d is the window plus DRAIN seconds)
#   WARMUP=2s           warm-up window per app (its pings are not counted)
#   DRAIN=2             seconds after a window for the last responses to arrive
#   MONITORS=10000      monitors seeded per backend
#   BACKENDS="postgres sqlite"
#   PG_SERVER_URL=postgres://postgres@127.0.0.1:5432   server for the `vigil_bench` database
#   PG_BENCH_DB=vigil_bench                             dropped and re-created, dropped on exit
#   REDIS_URL_BENCH=redis://127.0.0.1:6379/14           REDIS_URL of the PostgreSQL run
#   KEEP_DB=1           keep the benchmark database and the temp dir (printed) on exit
#   STRICT=1            exit non-zero when a ratio target is missed
#   GUNICORN_EXTRA=""   extra gunicorn options for both apps, e.g. "--threads 8", or
#                       "-k sync --threads 1" for the sync workers Vigil used before
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

PY="$ROOT/.venv/bin/python"
GUNICORN="$ROOT/.venv/bin/gunicorn"
LUA_SCRIPT="$ROOT/bench/random_ping.lua"

DURATION="${DURATION:-10s}"
WARMUP="${WARMUP:-2s}"
DRAIN="${DRAIN:-2}"
MONITORS="${MONITORS:-10000}"
BACKENDS="${BACKENDS:-postgres sqlite}"
PG_SERVER_URL="${PG_SERVER_URL:-postgres://postgres@127.0.0.1:5432}"
PG_BENCH_DB="${PG_BENCH_DB:-vigil_bench}"
REDIS_URL_BENCH="${REDIS_URL_BENCH:-redis://127.0.0.1:6379/14}"
KEEP_DB="${KEEP_DB:-0}"
STRICT="${STRICT:-0}"
WRK_THREADS=2
WRK_CONNECTIONS=16
WEB_WORKERS=2
# Extra gunicorn options for both apps, after the shared config (they override it).
read -r -a GUNICORN_EXTRA_ARGS <<<"${GUNICORN_EXTRA:-}"

declare -A TARGET=([postgres]=0.5 [sqlite]=0.2)

die() {
    echo "error: $*" >&2
    exit 2
}

# "10s", "10", "2m" -> whole seconds.
to_seconds() {
    local value="$1"
    case "$value" in
        *m) echo $((${value%m} * 60)) ;;
        *s) echo "${value%s}" ;;
        *) echo "$value" ;;
    esac
}

WINDOW_S="$(to_seconds "$DURATION")"
WARMUP_S="$(to_seconds "$WARMUP")"
[[ "$WINDOW_S" =~ ^[0-9]+$ && "$WINDOW_S" -gt 0 ]] || die "DURATION must be whole seconds, e.g. 10s"
[[ "$WARMUP_S" =~ ^[0-9]+$ && "$WARMUP_S" -gt 0 ]] || die "WARMUP must be whole seconds, e.g. 2s"
[[ "$DRAIN" =~ ^[0-9]+$ && "$DRAIN" -gt 0 ]] || die "DRAIN must be whole seconds, e.g. 2"

command -v wrk >/dev/null || die "wrk is not installed (apt-get install -y wrk)"
[[ -x "$GUNICORN" ]] || die "no $GUNICORN: run \`make bench-ping\` or install the venv first"
for backend in $BACKENDS; do
    [[ -n "${TARGET[$backend]:-}" ]] || die "unknown backend '$backend' (postgres, sqlite)"
done

TMP="$(mktemp -d "${TMPDIR:-/tmp}/vigil-bench-ping.XXXXXX")"
SERVER_PID=""
PG_CREATED=0

stop_server() {
    if [[ -n "$SERVER_PID" ]]; then
        kill -TERM "$SERVER_PID" 2>/dev/null || true
        # gunicorn stops its workers gracefully; give it a bounded time.
        for _ in $(seq 1 50); do
            kill -0 "$SERVER_PID" 2>/dev/null || break
            sleep 0.2
        done
        kill -KILL "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
        SERVER_PID=""
    fi
}

pg_admin() {
    PGOPTIONS="-c client_min_messages=warning" psql "$PG_SERVER_URL/postgres" -v ON_ERROR_STOP=1 -qAt "$@"
}

# shellcheck disable=SC2317  # invoked by the EXIT trap
cleanup() {
    local status=$?
    stop_server
    if [[ "$KEEP_DB" == 1 ]]; then
        echo "kept: $TMP and database $PG_BENCH_DB" >&2
    else
        if [[ "$PG_CREATED" == 1 ]]; then
            pg_admin -c "DROP DATABASE IF EXISTS $PG_BENCH_DB WITH (FORCE)" >/dev/null 2>&1 || true
        fi
        rm -rf "$TMP"
    fi
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

free_port() {
    "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# The app environment of the current backend (set by use_backend).
APP_ENV=()

use_backend() {
    local backend="$1"
    APP_ENV=(
        "DJANGO_SETTINGS_MODULE=monitorsite.settings"
        "DEBUG=false"
        "ALLOWED_HOSTS=*"
        "SECRET_KEY=vigil-bench-not-a-secret"
        "VIGIL_VAR_DIR=$TMP/var-$backend"
        "LOG_LEVEL=WARNING"
    )
    if [[ "$backend" == postgres ]]; then
        APP_ENV+=("DATABASE_URL=$PG_SERVER_URL/$PG_BENCH_DB" "REDIS_URL=$REDIS_URL_BENCH")
    else
        APP_ENV+=("VIGIL_SQLITE_PATH=$TMP/var-$backend/vigil-bench.sqlite3")
    fi
}

app_env() {
    env -u DATABASE_URL -u REDIS_URL -u VIGIL_SQLITE_PATH "${APP_ENV[@]}" "$@"
}

prepare_database() {
    local backend="$1"
    mkdir -p "$TMP/var-$backend"
    if [[ "$backend" == postgres ]]; then
        pg_admin -c "DROP DATABASE IF EXISTS $PG_BENCH_DB WITH (FORCE)" >/dev/null
        pg_admin -c "CREATE DATABASE $PG_BENCH_DB" >/dev/null
        PG_CREATED=1
    fi
    app_env "$PY" manage.py migrate --noinput -v 0
    app_env "$PY" bench/seed.py --monitors "$MONITORS" --lua-out "$TMP/uuids-$backend.lua"
}

ping_rows() {
    local backend="$1"
    if [[ "$backend" == postgres ]]; then
        psql "$PG_SERVER_URL/$PG_BENCH_DB" -qAt -c "SELECT count(*) FROM pings_ping"
    else
        "$PY" -c 'import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute("SELECT count(*) FROM pings_ping").fetchone()[0])' \
            "$TMP/var-$backend/vigil-bench.sqlite3"
    fi
}

# start_server NAME WSGI_APP: gunicorn on a free loopback port; sets PORT and SERVER_PID.
start_server() {
    local name="$1" app="$2"
    PORT="$(free_port)"
    # A simple command (not a function) in the background: $! is gunicorn's master itself.
    env -u DATABASE_URL -u REDIS_URL -u VIGIL_SQLITE_PATH "${APP_ENV[@]}" \
        "$GUNICORN" "$app" --config python:monitorsite.gunicorn_conf -w "$WEB_WORKERS" "${GUNICORN_EXTRA_ARGS[@]}" -b "127.0.0.1:$PORT" \
        >"$TMP/gunicorn-$name.log" 2>&1 &
    SERVER_PID=$!
    # Ready when it answers anything (a 404 for an unknown uuid writes nothing).
    local probe="http://127.0.0.1:$PORT/ping/00000000-0000-4000-8000-000000000000"
    for _ in $(seq 1 100); do
        if ! kill -0 "$SERVER_PID" 2>/dev/null; then
            cat "$TMP/gunicorn-$name.log" >&2
            die "gunicorn ($name) exited during start-up"
        fi
        if [[ "$(curl -s -o /dev/null -w '%{http_code}' "$probe" || true)" =~ ^[1-5][0-9][0-9]$ ]]; then
            return 0
        fi
        sleep 0.1
    done
    cat "$TMP/gunicorn-$name.log" >&2
    die "gunicorn ($name) did not answer within 10 s"
}

# run_wrk UUIDS WINDOW_SECONDS OUT: prints nothing, leaves wrk's output in OUT.
run_wrk() {
    local uuids="$1" window="$2" out="$3"
    BENCH_UUIDS_LUA="$uuids" wrk -t"$WRK_THREADS" -c"$WRK_CONNECTIONS" -d"$((window + DRAIN))s" \
        --timeout 10s -s "$LUA_SCRIPT" "http://127.0.0.1:$PORT" -- "$window" >"$out" 2>&1 \
        || { cat "$out" >&2; die "wrk failed"; }
    grep -q '^BENCH_RESULT ' "$out" || { cat "$out" >&2; die "no BENCH_RESULT line from wrk"; }
}

# field OUT KEY: a value from the BENCH_RESULT line.
field() {
    grep '^BENCH_RESULT ' "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"
}

# bench_app BACKEND NAME WSGI_APP: warm up, measure; results in $TMP/wrk-BACKEND-NAME.txt.
bench_app() {
    local backend="$1" name="$2" app="$3"
    local uuids="$TMP/uuids-$backend.lua"
    start_server "$name" "$app"
    run_wrk "$uuids" "$WARMUP_S" "$TMP/warmup-$backend-$name.txt"
    local before=""
    if [[ "$name" == vigil ]]; then
        before="$(ping_rows "$backend")"
    fi
    run_wrk "$uuids" "$WINDOW_S" "$TMP/wrk-$backend-$name.txt"
    stop_server
    if [[ "$name" == vigil ]]; then
        local after
        after="$(ping_rows "$backend")"
        echo "$((after - before))" >"$TMP/rows-$backend.txt"
    fi
}

STATUS=0
declare -a SUMMARY=()

report_backend() {
    local backend="$1"
    local vigil="$TMP/wrk-$backend-vigil.txt" hello="$TMP/wrk-$backend-hello.txt"
    local v_rps h_rps v_p99 h_p99 ratio target verdict
    v_rps="$(field "$vigil" rps)"
    h_rps="$(field "$hello" rps)"
    v_p99="$(field "$vigil" p99_ms)"
    h_p99="$(field "$hello" p99_ms)"
    ratio="$(awk -v v="$v_rps" -v h="$h_rps" 'BEGIN { printf "%.3f", (h > 0 ? v / h : 0) }')"
    target="${TARGET[$backend]}"
    if awk -v r="$ratio" -v t="$target" 'BEGIN { exit !(r >= t) }'; then
        verdict="meets target >= $target"
    else
        verdict="BELOW target >= $target"
        if [[ "$STRICT" == 1 ]]; then
            STATUS=1
        fi
    fi

    echo
    echo "== $backend: wrk -t$WRK_THREADS -c$WRK_CONNECTIONS, ${WINDOW_S}s window, gunicorn -w $WEB_WORKERS, monitorsite/gunicorn_conf.py ${GUNICORN_EXTRA:-as it is}"
    printf '%-8s %10s %10s %10s %8s  %s\n' app "req/s" "p50 ms" "p99 ms" ratio "statuses"
    printf '%-8s %10s %10s %10s %8s  %s\n' vigil "$v_rps" "$(field "$vigil" p50_ms)" "$v_p99" "$ratio" \
        "$(field "$vigil" statuses)"
    printf '%-8s %10s %10s %10s %8s  %s\n' hello "$h_rps" "$(field "$hello" p50_ms)" "$h_p99" "1.000" \
        "$(field "$hello" statuses)"
    echo "ratio vigil/hello: $ratio ($verdict)"

    local ok non200 inflight rows errors check
    ok="$(field "$vigil" ok)"
    non200="$(field "$vigil" non200)"
    inflight="$(field "$vigil" inflight)"
    errors="$(field "$vigil" errors)"
    rows="$(cat "$TMP/rows-$backend.txt")"
    # Every 200 must have its row. A request still unanswered when wrk stopped may have been
    # written without its 200 being seen: that is an extra row, never a lost one.
    if ((rows < ok)); then
        check="LOST $((ok - rows))"
        STATUS=1
    elif ((rows > ok + inflight)); then
        check=MISMATCH
        STATUS=1
    else
        check=OK
    fi
    echo "durability: ping rows written $rows, 200s received $ok -> $check" \
        "(non-200: $non200, unanswered at stop: $inflight, socket errors: $errors)"
    if ((rows > ok && rows <= ok + inflight)); then
        echo "  note: $((rows - ok)) row(s) belong to requests still unanswered when wrk stopped"
    fi
    SUMMARY+=("$(printf '%-8s vigil %8s req/s p99 %7s ms | hello %8s req/s p99 %7s ms | ratio %s (%s) | rows %s = 200s %s: %s' \
        "$backend" "$v_rps" "$v_p99" "$h_rps" "$h_p99" "$ratio" "$verdict" "$rows" "$ok" "$check")")
}

echo "ping throughput benchmark: $(date -u '+%Y-%m-%d %H:%M:%S UTC'), $(nproc) cores," \
    "load average $(cut -d' ' -f1-3 /proc/loadavg), $MONITORS monitors, DURATION=${WINDOW_S}s"
# A durable commit costs at least one disk sync: the floor under every acknowledged ping.
"$PY" - "$TMP" <<'PROBE'
import os, statistics, sys, time
path = os.path.join(sys.argv[1], "fsync-probe")
fd = os.open(path, os.O_WRONLY | os.O_CREAT)
samples = []
for _ in range(50):
    os.write(fd, b"x" * 4096)
    start = time.perf_counter()
    os.fsync(fd)
    samples.append((time.perf_counter() - start) * 1000)
os.close(fd)
os.remove(path)
print(f"disk sync floor: fsync of a growing file, median {statistics.median(samples):.2f} ms over 50")
PROBE
for backend in $BACKENDS; do
    echo
    echo "== $backend: preparing a fresh database"
    use_backend "$backend"
    prepare_database "$backend"
    echo "-- vigil (monitorsite.wsgi)"
    bench_app "$backend" vigil monitorsite.wsgi
    echo "-- hello (bench.hello_app)"
    bench_app "$backend" hello bench.hello_app:application
    report_backend "$backend"
done

echo
echo "== summary (load average at end: $(cut -d' ' -f1-3 /proc/loadavg))"
printf '%s\n' "${SUMMARY[@]}"
exit "$STATUS"
