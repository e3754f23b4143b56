#!/usr/bin/env bash
# End-to-end test of the trace pipeline through the real binary: OTLP/HTTP JSON (plain, gzip,
# chunked), bad input (400/413/415, spans without ids), ingest auth, and the trace CLI verbs.
# Usage: traces_http_test.sh path/to/firebreak
set -uo pipefail
FB="$1"
WORK=$(mktemp -d)
SERVER_PID=""
cleanup() {
  if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null; wait "$SERVER_PID" 2>/dev/null; fi
  rm -rf "$WORK"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

"$FB" serve --listen 127.0.0.1:0 --data-dir "$WORK/data" --max-body-bytes 65536 >"$WORK/out" 2>"$WORK/err" &
SERVER_PID=$!
for _ in $(seq 1 100); do grep -q "listening on" "$WORK/out" 2>/dev/null && break; sleep 0.1; done
URL=$(sed -n 's/^firebreak listening on //p' "$WORK/out")
[ -n "$URL" ] || { cat "$WORK/err"; fail "server did not start"; }
export FIREBREAK_URL="$URL" FIREBREAK_DATA_DIR="$WORK/data"
ADMIN=$(cat "$WORK/data/admin.token")

# post CONTENT_TYPE FILE [extra curl args...] -> prints "STATUS" and leaves the body in $WORK/res
post() {
  local ct="$1" file="$2"; shift 2
  curl -s -o "$WORK/res" -w '%{http_code}' -H "Authorization: Bearer ${TOKEN:-$ADMIN}" \
    -H "Content-Type: $ct" --data-binary "@$file" "$@" "$URL/v1/traces"
}

# Span times are now: traces older than retention_days would be swept at the next start.
NOW=$(date +%s)
otlp() {  # otlp TRACE_NUM QUESTION ANSWER SERVICE
  local t; t=$(printf '%032d' "$1")
  cat <<JSON
{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"$4"}},{"key":"service.version","value":{"stringValue":"v1"}}]},
 "scopeSpans":[{"scope":{"name":"t"},"spans":[
  {"traceId":"$t","spanId":"$(printf '%016d' $(( $1 * 10 + 1 )))","name":"agent","kind":"SPAN_KIND_SERVER",
   "startTimeUnixNano":"${NOW}000000000","endTimeUnixNano":"${NOW}900000000",
   "attributes":[{"key":"input.value","value":{"stringValue":"$2"}},{"key":"output.value","value":{"stringValue":"$3"}},
                 {"key":"openinference.span.kind","value":{"stringValue":"AGENT"}},{"key":"user.id","value":{"stringValue":"u-$1"}}]},
  {"traceId":"$t","spanId":"$(printf '%016d' $(( $1 * 10 + 2 )))","parentSpanId":"$(printf '%016d' $(( $1 * 10 + 1 )))","name":"tool",
   "startTimeUnixNano":"${NOW}100000000","endTimeUnixNano":"${NOW}200000000",
   "attributes":[{"key":"gen_ai.operation.name","value":{"stringValue":"execute_tool"}},{"key":"gen_ai.tool.name","value":{"stringValue":"lookup_order"}},
                 {"key":"gen_ai.tool.call.arguments","value":{"stringValue":"{\"order\":\"A-$1\"}"}},{"key":"gen_ai.tool.call.result","value":{"stringValue":"shipped"}}]}
 ]}]}]}
JSON
}

otlp 1 "where is my order A-1 that I placed last week" "it shipped on monday" bot >"$WORK/a.json"
[ "$(post application/json "$WORK/a.json")" = 200 ] || fail "plain JSON: $(cat "$WORK/res")"
[ "$(cat "$WORK/res")" = "{}" ] || fail "full success answers an empty ExportTraceServiceResponse, got $(cat "$WORK/res")"

otlp 2 "where is my order A-2 that I placed last week" "it shipped on tuesday" bot | gzip >"$WORK/b.json.gz"
[ "$(post application/json "$WORK/b.json.gz" -H 'Content-Encoding: gzip')" = 200 ] || fail "gzip: $(cat "$WORK/res")"

otlp 3 "how do I reset my password" "use the reset link" bot >"$WORK/c.json"
[ "$(post application/json "$WORK/c.json" -H 'Transfer-Encoding: chunked')" = 200 ] || fail "chunked: $(cat "$WORK/res")"

# Bad input: each gets its status and changes nothing.
echo 'hello' >"$WORK/text"
[ "$(post text/plain "$WORK/text")" = 415 ] || fail "text/plain should be 415"
echo '{"resourceSpans": [' >"$WORK/bad.json"
[ "$(post application/json "$WORK/bad.json")" = 400 ] || fail "invalid JSON should be 400"
printf '\xff\xff\xff\xff\x0fgarbage' >"$WORK/bad.pb"
[ "$(post application/x-protobuf "$WORK/bad.pb")" = 400 ] || fail "garbage protobuf should be 400"
head -c 200000 /dev/zero | tr '\0' 'a' >"$WORK/big"
[ "$(post application/json "$WORK/big")" = 413 ] || fail "oversized body should be 413"
printf 'not gzip' >"$WORK/notgz"
[ "$(post application/json "$WORK/notgz" -H 'Content-Encoding: gzip')" = 400 ] || fail "corrupt gzip should be 400"
cat >"$WORK/noids.json" <<'JSON'
{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"bot"}}]},
 "scopeSpans":[{"spans":[{"name":"orphan without ids","startTimeUnixNano":"1","endTimeUnixNano":"2"}]}]}]}
JSON
[ "$(post application/json "$WORK/noids.json")" = 200 ] || fail "spans without ids: $(cat "$WORK/res")"
[ "$(jq -r .partialSuccess.rejectedSpans "$WORK/res")" = 1 ] || fail "rejected span not reported: $(cat "$WORK/res")"

# Auth: no token 401; viewer 403; an agent token only for its own service.name.
[ "$(TOKEN=nope post application/json "$WORK/a.json")" = 401 ] || fail "bad token should be 401"
AGENT=$("$FB" --json token create --name bot-agent --role agent --agent bot | jq -r .token)
OTHER=$("$FB" --json token create --name other-agent --role agent --agent other | jq -r .token)
VIEWER=$("$FB" --json token create --name v --role viewer | jq -r .token)
[ "$(TOKEN=$AGENT post application/json "$WORK/a.json")" = 200 ] || fail "agent token of bot: $(cat "$WORK/res")"
[ "$(TOKEN=$OTHER post application/json "$WORK/a.json")" = 403 ] || fail "agent token of another agent should be 403"
[ "$(TOKEN=$VIEWER post application/json "$WORK/a.json")" = 403 ] || fail "viewer should be 403"

# CLI: list, show by prefix, similar, flag, native ingest, erasure.
N=$("$FB" --json trace list --agent bot | jq '.traces | length')
[ "$N" = 3 ] || fail "expected 3 traces, got $N"
H1=$("$FB" --json trace list --user u-1 | jq -r '.traces[0].hash')
"$FB" trace show "${H1:0:10}" >"$WORK/show" || fail "trace show by prefix"
for want in "where is my order A-1" "lookup_order" '{"order":"A-1"}' "shipped" "u-1" "it shipped on monday"; do
  grep -qF -- "$want" "$WORK/show" || fail "trace show lacks '$want'"
done
"$FB" trace show 1234567 2>"$WORK/e" && fail "7 hex chars must be refused"
"$FB" trace show ffffffffff 2>"$WORK/e" && fail "unknown hash must fail"
grep -q "HTTP 404" "$WORK/e" || fail "unknown hash should be 404: $(cat "$WORK/e")"
H2=$("$FB" --json trace list --user u-2 | jq -r '.traces[0].hash')
TOP=$("$FB" --json trace similar "$H1" -k 2 | jq -r '.results[0].hash')
[ "$TOP" = "$H2" ] || fail "similar should rank the near-duplicate first ($TOP vs $H2)"
"$FB" --json trace flag toxic --hash "${H1:0:12}" --reason "test" | jq -e '.flagged == 1' >/dev/null || fail "flag"
[ "$("$FB" --json trace list --flag toxic | jq -r '.traces[0].hash')" = "$H1" ] || fail "flag filter"
echo '{"traces":[{"agent":"bot","user_id":"u-9","input":"native question","output":"native answer"}]}' >"$WORK/native.json"
HN=$("$FB" trace ingest "$WORK/native.json") || fail "native ingest"
"$FB" trace show "$HN" | grep -q "native answer" || fail "native trace not shown"
"$FB" trace ingest "$WORK/c.json" >/dev/null || fail "CLI ingest of OTLP JSON"
"$FB" --json trace erase-user u-9 --reason DSR-1 | jq -e '.traces_erased == 1' >/dev/null || fail "erasure"
"$FB" trace show "$HN" 2>/dev/null && fail "erased trace still there"

# Acknowledged means durable: kill -9 right after a 200, restart, the trace is there.
otlp 4 "is my data safe after a crash" "yes it is committed" bot >"$WORK/d.json"
[ "$(post application/json "$WORK/d.json")" = 200 ] || fail "ingest before kill"
kill -9 "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null
: >"$WORK/out"
"$FB" serve --listen 127.0.0.1:0 --data-dir "$WORK/data" >"$WORK/out" 2>"$WORK/err" &
SERVER_PID=$!
for _ in $(seq 1 100); do grep -q "listening on" "$WORK/out" 2>/dev/null && break; sleep 0.1; done
export FIREBREAK_URL=$(sed -n 's/^firebreak listening on //p' "$WORK/out")
N4=$("$FB" --json trace list --user u-4 | jq ".traces | length")
[ "$N4" = 1 ] || fail "acknowledged trace lost by kill -9 (found ${N4:-nothing}; $(cat "$WORK/out" "$WORK/err"))"
echo "ok"
