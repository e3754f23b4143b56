#!/usr/bin/env bash
# Builds the `fuzz` preset (clang, -fsanitize=fuzzer,address,undefined) and runs every libFuzzer
# target in fuzz/ for N seconds (default 30), starting from its committed seed corpus.
#
#   scripts/fuzz.sh [seconds] [target ...]
#
# New inputs that grow coverage go to build/fuzz/corpus/<target>/ (the committed seeds are
# only read). On a crash the reproducer is left in build/fuzz/crashes/<target>/ and the script
# exits non-zero once every target has run; reproduce with
#   build/fuzz/fuzz/<target> build/fuzz/crashes/<target>/crash-...
set -euo pipefail

cd "$(dirname "$0")/.."
seconds="${1:-30}"
shift || true
all_targets=(otlp_protobuf_fuzzer otlp_json_fuzzer native_trace_fuzzer alertmanager_fuzzer
             manifest_fuzzer http_request_fuzzer)
targets=("$@")
if ((${#targets[@]} == 0)); then targets=("${all_targets[@]}"); fi

# Inputs up to this size: large enough for a real OTLP batch or HTTP request, small enough
# that each run stays fast. Size and depth limits have their own unit tests.
declare -A max_len=([otlp_protobuf_fuzzer]=16384 [otlp_json_fuzzer]=16384
                    [native_trace_fuzzer]=8192 [alertmanager_fuzzer]=8192
                    [manifest_fuzzer]=4096 [http_request_fuzzer]=4096)

cmake --preset fuzz >/dev/null
cmake --build build/fuzz -j"${FUZZ_JOBS:-2}" --target "${targets[@]}"

failed=()
for t in "${targets[@]}"; do
  corpus="build/fuzz/corpus/$t"
  crashes="build/fuzz/crashes/$t"
  mkdir -p "$corpus" "$crashes"
  echo "== $t: ${seconds}s, max_len ${max_len[$t]}"
  if ! ASAN_OPTIONS="detect_leaks=0:allocator_may_return_null=1" \
       UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1" \
       "build/fuzz/fuzz/$t" "$corpus" "fuzz/corpus/$t" \
         -max_total_time="$seconds" -max_len="${max_len[$t]}" -rss_limit_mb=2048 -timeout=10 \
         -artifact_prefix="$crashes/" -print_final_stats=1 2>"build/fuzz/$t.log"; then
    tail -n 60 "build/fuzz/$t.log"
    echo "== $t FAILED; reproducer(s): $(ls "$crashes")"
    failed+=("$t")
  else
    grep -E '^stat::(number_of_executed_units|new_units_added|peak_rss_mb)' "build/fuzz/$t.log" |
      tr '\n' ' '
    echo
  fi
done

if ((${#failed[@]} > 0)); then
  echo "fuzz: crashes in ${failed[*]}" >&2
  exit 1
fi
echo "fuzz: ${#targets[@]} target(s) ran ${seconds}s each without a crash"
