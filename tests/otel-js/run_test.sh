#!/usr/bin/env bash
# CI test: the real OpenTelemetry JS SDK (OTLP/HTTP JSON+gzip and protobuf exporters) sends an
# agent run to the real firebreak binary; `firebreak trace show` must print its input, tool
# calls with arguments and results, user id and final response, and both runs (new ids and
# times) must get the same hash. Exits 77 (skipped) only when npm is not installed.
# Usage: run_test.sh path/to/firebreak
set -uo pipefail
FB="$1"
HERE="$(cd "$(dirname "$0")" && pwd)"
if ! command -v npm >/dev/null 2>&1 || ! command -v node >/dev/null 2>&1; then
  echo "SKIPPED: npm/node not installed (scripts/setup.sh installs them); the OpenTelemetry JS test needs them"
  exit 77
fi
fail() { echo "FAIL: $*" >&2; exit 1; }

# node_modules live in the build tree, reinstalled when package-lock.json changes.
DEPS="$PWD/otel-js-deps"
mkdir -p "$DEPS"
if ! cmp -s "$HERE/package-lock.json" "$DEPS/package-lock.json" || [ ! -d "$DEPS/node_modules" ]; then
  cp "$HERE/package.json" "$HERE/package-lock.json" "$DEPS/"
  (cd "$DEPS" && npm ci --no-audit --no-fund --loglevel=error) || fail "npm ci failed"
fi
cp "$HERE/export_run.js" "$DEPS/"

WORK=$(mktemp -d)
SERVER_PID=""
cleanup() {
  if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null; wait "$SERVER_PID" 2>/dev/null; fi
  rm -rf "$WORK"
}
trap cleanup EXIT
"$FB" serve --listen 127.0.0.1:0 --data-dir "$WORK/data" >"$WORK/out" 2>"$WORK/err" &
SERVER_PID=$!
for _ in $(seq 1 100); do grep -q "listening on" "$WORK/out" 2>/dev/null && break; sleep 0.1; done
URL=$(sed -n 's/^firebreak listening on //p' "$WORK/out")
[ -n "$URL" ] || { cat "$WORK/err"; fail "server did not start"; }
export FIREBREAK_URL="$URL" FIREBREAK_DATA_DIR="$WORK/data"

# The agent sends with its own agent token, as in production.
TOKEN=$("$FB" --json token create --name support-bot-runtime --role agent --agent support-bot | jq -r .token)
[ -n "$TOKEN" ] && [ "$TOKEN" != null ] || fail "could not create the agent token"

T1=$(node "$DEPS/export_run.js" "$URL" "$TOKEN" http) || fail "export with exporter-trace-otlp-http failed"
T2=$(node "$DEPS/export_run.js" "$URL" "$TOKEN" proto) || fail "export with exporter-trace-otlp-proto failed"
[ "$T1" != "$T2" ] || fail "the two runs should have different trace ids"

"$FB" --json trace list --agent support-bot >"$WORK/list" || fail "trace list"
[ "$(jq '.traces | length' "$WORK/list")" = 2 ] || fail "expected 2 traces: $(cat "$WORK/list")"
H1=$(jq -r --arg t "$T1" '.traces[] | select(.trace_id == $t) | .hash' "$WORK/list")
H2=$(jq -r --arg t "$T2" '.traces[] | select(.trace_id == $t) | .hash' "$WORK/list")
[ -n "$H1" ] && [ "$H1" = "$H2" ] || fail "same run, new ids and times: hashes differ ($H1 vs $H2)"

"$FB" trace show "${H1:0:12}" >"$WORK/show" || fail "trace show"
cat "$WORK/show"
for want in \
    "Please refund order A-1001, it arrived broken" \
    "customer-314" \
    "lookup_order" '{"order_id":"A-1001"}' '"status":"delivered"' \
    "issue_refund" '"currency":"EUR"' '"refund_id":"R-77"' \
    "I have refunded 42.50 EUR for order A-1001 to your card." \
    "I should check the order, then refund it."; do
  grep -qF -- "$want" "$WORK/show" || fail "trace show lacks: $want"
done
echo "ok: OpenTelemetry JS (otlp-http+gzip and otlp-proto) -> firebreak trace show"
