-- wrk script for bench/ping_throughput.sh: GET /ping/<uuid> of a random monitor per request.
--
--   BENCH_UUIDS_LUA=/tmp/uuids.lua \
--     wrk -t2 -c16 -d12s -s bench/random_ping.lua http://127.0.0.1:PORT -- 10
--
-- The argument after `--` is the measurement window in seconds. Each wrk thread sends requests
-- during the window only (from its first request); afterwards delay() parks every connection
-- as soon as its last response is in, so by the time wrk stops (-d = window + a drain margin)
-- nothing is left in flight: every request sent was answered, and the number of 200s is exactly
-- the number of pings the server acknowledged.
--
-- done() prints one line for the shell script to parse:
--   BENCH_RESULT window_s=10 rps=... requests=... ok=... non200=... sent=... inflight=...
--     p50_ms=... p99_ms=... max_ms=... statuses=200:1234 errors=connect:0,read:0,write:0,timeout:0
-- rps counts the responses received inside the window, divided by the window.

local ffi = require("ffi")
ffi.cdef([[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec_t;
int clock_gettime(int clk_id, bench_timespec_t *tp);
]])
local CLOCK_MONOTONIC = 1
local timespec = ffi.new("bench_timespec_t")

local function monotonic()
  ffi.C.clock_gettime(CLOCK_MONOTONIC, timespec)
  return tonumber(timespec.tv_sec) + tonumber(timespec.tv_nsec) * 1e-9
end

local uuids = dofile(os.getenv("BENCH_UUIDS_LUA") or "bench/uuids.lua")
local uuid_count = #uuids
local PARKED_MS = 3600 * 1000

-- Per-thread state (every wrk thread runs its own Lua state): globals, so that done(),
-- in the main state, can read them with thread:get().
thread_index = 0
window = 10
deadline = nil
sent = 0
received = 0
in_window = 0
ok = 0
statuses = {}

local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("thread_index", #threads)
end

function init(args)
  window = tonumber(args[1]) or window
  math.randomseed(os.time() * 1000 + thread_index * 7919)
end

function delay()
  local now = monotonic()
  if deadline == nil then
    deadline = now + window
  end
  if now < deadline then
    sent = sent + 1
    return 0
  end
  return PARKED_MS
end

function request()
  return wrk.format("GET", "/ping/" .. uuids[math.random(uuid_count)])
end

function response(status, headers, body)
  received = received + 1
  if deadline ~= nil and monotonic() <= deadline then
    in_window = in_window + 1
  end
  statuses[status] = (statuses[status] or 0) + 1
  if status == 200 then
    ok = ok + 1
  end
end

function done(summary, latency, requests)
  local totals = { sent = 0, received = 0, in_window = 0, ok = 0 }
  local merged = {}
  local window_s = window
  for _, thread in ipairs(threads) do
    for key, value in pairs(totals) do
      totals[key] = value + (thread:get(key) or 0)
    end
    window_s = thread:get("window") or window_s
    for code, n in pairs(thread:get("statuses") or {}) do
      merged[code] = (merged[code] or 0) + n
    end
  end
  local parts = {}
  for code, n in pairs(merged) do
    table.insert(parts, code .. ":" .. n)
  end
  table.sort(parts)
  local errors = summary.errors
  io.write(string.format(
    "BENCH_RESULT window_s=%g rps=%.1f requests=%d ok=%d non200=%d sent=%d inflight=%d "
      .. "p50_ms=%.2f p99_ms=%.2f max_ms=%.2f statuses=%s errors=connect:%d,read:%d,write:%d,timeout:%d\n",
    window_s,
    totals.in_window / window_s,
    totals.received,
    totals.ok,
    totals.received - totals.ok,
    totals.sent,
    totals.sent - totals.received,
    latency:percentile(50) / 1000,
    latency:percentile(99) / 1000,
    latency.max / 1000,
    #parts > 0 and table.concat(parts, ",") or "none",
    errors.connect,
    errors.read,
    errors.write,
    errors.timeout
  ))
end
