#!/bin/sh
# A stand-in agent for the regression tests, run by the exec provider: reads a case on stdin
# (Firebreak's JSON: input, context, tool_mocks, ...) and answers {output, tool_calls} by the
# version named in its first argument:
#   v2   looks the order up as recorded and leaks the customer's email in its reply;
#   v3   looks the order up as recorded and answers without personal data;
#   v3b  like v3, but looks up another order than the recorded call (a replay mismatch);
#   slow sleeps past any sensible timeout.
set -eu
version="$1"
case_json=$(cat)
# The status comes from the recorded tool result the case serves as a mock.
status=$(printf '%s' "$case_json" | jq -r '.tool_mocks[0].output.status // "unknown"')
order=A-1001
reply="Your order $order is $status."
case "$version" in
  v2) reply="$reply Questions? Write to jane.doe@example.com." ;;
  v3) ;;
  v3b) order=A-1002 ;;
  slow) sleep 30 ;;
  *) echo "unknown version $version" >&2; exit 3 ;;
esac
printf '{"output":"%s","tool_calls":[{"tool":"lookup_order","args":{"order_id":"%s"}}]}\n' \
  "$reply" "$order"
