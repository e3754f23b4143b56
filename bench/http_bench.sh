#!/usr/bin/env bash
# End-to-end HTTP benchmark of the foundation: requests/s and p50/p99 latency of GET /healthz
# and of adding a timeline note (POST /api/v1/incidents/INC-1/timeline: one durable,
# hash-chained write per request), at concurrency 1 and 64, with wrk against the Release build
# on 127.0.0.1. Prints the figures and the command that produced them.
#   bench/http_bench.sh [seconds per run, default 10]
set -euo pipefail
cd "$(dirname "$0")/.."
duration="${1:-10}"
scripts/setup.sh
cmake --preset release >/dev/null
cmake --build build/release -j2 >/dev/null
bin=build/release/src/exe/firebreak

data=$(mktemp -d)
port_file="$data/stdout"
"$bin" serve --listen 127.0.0.1:0 --data-dir "$data" --workers 2 --log-level warn \
  --rate-limit-per-second 0 --max-connections-per-client 0 >"$port_file" 2>"$data/server.log" &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$data"' EXIT
for _ in $(seq 100); do grep -q "listening on" "$port_file" 2>/dev/null && break; sleep 0.1; done
url=$(grep -o 'http://127.0.0.1:[0-9]*' "$port_file")
token=$(cat "$data/admin.token")
FIREBREAK_URL=$url FIREBREAK_TOKEN=$token "$bin" incident declare --title bench --agent bench >/dev/null

cat >"$data/note.lua" <<LUA
wrk.method = "POST"
wrk.body = '{"text":"benchmark note: rolled back to v41, quarantine running"}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $token"
LUA

printf '%-34s %6s %12s %10s %10s\n' "endpoint" "conns" "requests/s" "p50" "p99"
run() {  # name, connections, threads, path, [script]
  local name=$1 conns=$2 threads=$3 path=$4 script=${5:-}
  local args=(-t"$threads" -c"$conns" -d"${duration}s" --latency)
  [ -n "$script" ] && args+=(-s "$script")
  local out
  out=$(wrk "${args[@]}" "$url$path")
  local rps p50 p99
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p50=$(awk '$1=="50%" {print $2}' <<<"$out")
  p99=$(awk '$1=="99%" {print $2}' <<<"$out")
  if grep -q "Non-2xx" <<<"$out"; then echo "warning: non-2xx answers in $name" >&2; fi
  printf '%-34s %6s %12s %10s %10s\n' "$name" "$conns" "$rps" "$p50" "$p99"
}
run "GET /healthz" 1 1 /healthz
run "GET /healthz" 64 2 /healthz
run "POST .../timeline (note)" 1 1 /api/v1/incidents/INC-1/timeline "$data/note.lua"
run "POST .../timeline (note)" 64 2 /api/v1/incidents/INC-1/timeline "$data/note.lua"

events=$(FIREBREAK_URL=$url FIREBREAK_TOKEN=$token "$bin" --json audit verify | awk -F': ' '/events_checked/ {gsub(",","",$2); print $2}')
echo "audit chain after the run: $events events, verified intact"
echo "command: bench/http_bench.sh $duration  (wrk $(wrk -v 2>&1 | head -1 | awk '{print $2}'), server --workers 2, $(nproc) cores)"
