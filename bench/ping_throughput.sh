#!/usr/bin/env bash
# Ping throughput: Vigil's /ping/<uuid> against a hello-world Django app, same gunicorn command.
#
# For each backend (PostgreSQL, then SQLite in embedded mode):
#   1. a fresh database, `migrate`, 10,000 monitors (bench/seed.py, which also writes their
#      ping uuids as a Lua table);
#   2. for each gunicorn setting of SETTINGS (processes x threads, with the shared config
#      monitorsite/gunicorn_conf.py: threaded workers, as in `make run` and docker-compose.yml):
#      `gunicorn monitorsite.wsgi`, warm-up, then `wrk -t2 -c16` for DURATION with
#      bench/random_ping.lua (a random monitor per request, statuses counted, nothing left in
#      flight at the end); the ping rows written during the measured run must equal the 200s
#      wrk received (every acknowledged ping committed);
#   3. the same for `gunicorn bench.hello_app:application` (no middleware, no database);
#   4. each app at its best setting: req/s, p99 and the ratio Vigil / hello.
# Targets: ratio >= 0.5 on PostgreSQL, >= 0.2 on SQLite; Vigil's p99 <= 50 ms at 16 connections.
# Exits non-zero on a row-count mismatch (or any failure); a missed target is reported, not
# fatal (STRICT=1 makes it fatal). The summary also prints one `BENCH-ROW {json}` line per
# figure (bench/rows.py) for bench/all.py.
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
#   SETTINGS="2x16 4x4" gunicorn settings tried for each app: PROCESSESxTHREADS
#   GUNICORN_EXTRA=""   extra gunicorn options for both apps, e.g. "-k sync" for sync workers
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
SETTINGS="${SETTINGS:-2x16 4x4}"
P99_TARGET_MS=50
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

# start_server NAME WSGI_APP SETTING: gunicorn on a free loopback port; sets PORT and SERVER_PID.
start_server() {
    local name="$1" app="$2" setting="$3"
    PORT="$(free_port)"
    # A simple command (not a function) in the background: $! is gunicorn's master itself.
    env -u DATABASE_URL -u REDIS_URL -u VIGIL_SQLITE_PATH "${APP_ENV[@]}" \
        "$GUNICORN" "$app" --config python:monitorsite.gunicorn_conf -w "${setting%x*}" --threads "${setting#*x}" \
        "${GUNICORN_EXTRA_ARGS[@]}" -b "127.0.0.1:$PORT" \
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

# bench_app BACKEND NAME WSGI_APP SETTING: warm up, measure; results in $TMP/wrk-BACKEND-NAME-SETTING.txt.
bench_app() {
    local backend="$1" name="$2" app="$3" setting="$4"
    local uuids="$TMP/uuids-$backend.lua" out="$TMP/wrk-$backend-$name-$setting.txt"
    start_server "$name" "$app" "$setting"
    run_wrk "$uuids" "$WARMUP_S" "$TMP/warmup-$backend-$name-$setting.txt"
    local before=""
    if [[ "$name" == vigil ]]; then
        before="$(ping_rows "$backend")"
    fi
    run_wrk "$uuids" "$WINDOW_S" "$out"
    stop_server
    if [[ "$name" == vigil ]]; then
        local after
        after="$(ping_rows "$backend")"
        check_rows "$backend $setting" "$out" "$((after - before))"
    fi
    printf '  %-6s %-6s %10s req/s  p50 %8s ms  p99 %8s ms  %s\n' "$name" "$setting" "$(field "$out" rps)" \
        "$(field "$out" p50_ms)" "$(field "$out" p99_ms)" "$(field "$out" statuses)"
}

STATUS=0
declare -a SUMMARY=()
declare -a ROWS=()
declare -A LOST=()

# check_rows LABEL WRK_OUT ROWS: every 200 must have its row. A request still unanswered when
# wrk stopped may have been written without its 200 being seen: an extra row, never a lost one.
check_rows() {
    local label="$1" out="$2" rows="$3" ok inflight check
    ok="$(field "$out" ok)"
    inflight="$(field "$out" inflight)"
    if ((rows < ok)); then
        check="LOST $((ok - rows))"
        STATUS=1
    elif ((rows > ok + inflight)); then
        check=MISMATCH
        STATUS=1
    else
        check=OK
    fi
    LOST[$label]=$((ok > rows ? ok - rows : 0))
    echo "  durability ($label): ping rows written $rows, 200s received $ok -> $check" \
        "(non-200: $(field "$out" non200), unanswered at stop: $inflight, socket errors: $(field "$out" errors))"
}

# best BACKEND NAME: the setting with the most req/s.
best() {
    local backend="$1" name="$2" setting top="" top_rps=-1 rps
    for setting in $SETTINGS; do
        rps="$(field "$TMP/wrk-$backend-$name-$setting.txt" rps)"
        if awk -v a="$rps" -v b="$top_rps" 'BEGIN { exit !(a > b) }'; then
            top="$setting"
            top_rps="$rps"
        fi
    done
    echo "$top"
}

# row NAME FIGURE UNIT TARGET REFERENCE: one BENCH-ROW line (bench/rows.py), kept for the summary.
row() {
    ROWS+=("$("$PY" -c 'import json, sys
name, figure, unit, target, reference = sys.argv[1:]
print("BENCH-ROW " + json.dumps({"name": name, "figure": float(figure), "unit": unit, "target": target, "reference": reference}))' "$@")")
}

report_backend() {
    local backend="$1" v_set h_set vigil hello v_rps h_rps v_p99 h_p99 ratio target verdict p99_verdict lost
    v_set="$(best "$backend" vigil)"
    h_set="$(best "$backend" hello)"
    vigil="$TMP/wrk-$backend-vigil-$v_set.txt"
    hello="$TMP/wrk-$backend-hello-$h_set.txt"
    v_rps="$(field "$vigil" rps)"
    h_rps="$(field "$hello" rps)"
    v_p99="$(field "$vigil" p99_ms)"
    h_p99="$(field "$hello" p99_ms)"
    ratio="$(awk -v v="$v_rps" -v h="$h_rps" 'BEGIN { printf "%.3f", (h > 0 ? v / h : 0) }')"
    target="${TARGET[$backend]}"
    if awk -v r="$ratio" -v t="$target" 'BEGIN { exit !(r >= t) }'; then
        verdict="pass"
    else
        verdict="MISS"
        [[ "$STRICT" == 1 ]] && STATUS=1
    fi
    if awk -v p="$v_p99" -v t="$P99_TARGET_MS" 'BEGIN { exit !(p <= t) }'; then
        p99_verdict="pass"
    else
        p99_verdict="MISS"
        [[ "$STRICT" == 1 ]] && STATUS=1
    fi
    lost=0
    for setting in $SETTINGS; do
        lost=$((lost + ${LOST["$backend $setting"]:-0}))
    done

    echo
    echo "== $backend: each app at its best setting (processes x threads), wrk -t$WRK_THREADS -c$WRK_CONNECTIONS, ${WINDOW_S}s"
    printf '%-28s %12s  %-10s %-7s %s\n' measure figure target verdict "reference (same run)"
    printf '%-28s %12s  %-10s %-7s %s\n' "ratio vigil/hello" "$ratio" ">= $target" "$verdict" \
        "vigil $v_rps req/s ($v_set) / hello $h_rps req/s ($h_set)"
    printf '%-28s %12s  %-10s %-7s %s\n' "vigil req/s" "$v_rps" "" "" "hello $h_rps req/s"
    printf '%-28s %12s  %-10s %-7s %s\n' "vigil p99 ms" "$v_p99" "<= $P99_TARGET_MS" "$p99_verdict" "hello p99 $h_p99 ms"
    printf '%-28s %12s  %-10s %-7s %s\n' "acknowledged pings lost" "$lost" "0" "$([[ $lost == 0 ]] && echo pass || echo MISS)" \
        "every setting's rows counted against its 200s"
    SUMMARY+=("$(printf '%-8s vigil %8s req/s (%s) p99 %7s ms | hello %8s req/s (%s) p99 %7s ms | ratio %s (target >= %s: %s) | lost %s' \
        "$backend" "$v_rps" "$v_set" "$v_p99" "$h_rps" "$h_set" "$h_p99" "$ratio" "$target" "$verdict" "$lost")")
    row "$backend: ping req/s / hello-world req/s" "$ratio" ratio ">= $target" "hello $h_rps req/s ($h_set), vigil $v_rps req/s ($v_set)"
    row "$backend: ping req/s, best setting" "$v_rps" "req/s" "" "hello $h_rps req/s"
    row "$backend: ping p99 at 16 connections" "$v_p99" ms "<= $P99_TARGET_MS ms" "hello p99 $h_p99 ms"
    row "$backend: acknowledged pings not stored" "$lost" pings "0" ""
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
    for setting in $SETTINGS; do
        bench_app "$backend" vigil monitorsite.wsgi "$setting"
        bench_app "$backend" hello bench.hello_app:application "$setting"
    done
    report_backend "$backend"
done

echo
echo "== summary (load average at end: $(cut -d' ' -f1-3 /proc/loadavg))"
printf '%s\n' "${SUMMARY[@]}"
printf '%s\n' "${ROWS[@]}"
exit "$STATUS"
