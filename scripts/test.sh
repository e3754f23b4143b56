#!/usr/bin/env bash
# Installs what is missing, builds Firebreak with its tests and runs every test.
#   scripts/test.sh           the test build (RelWithDebInfo)
#   scripts/test.sh --asan    the same suite under AddressSanitizer + UndefinedBehaviorSanitizer
set -euo pipefail
cd "$(dirname "$0")/.."
preset=test
exclude=()
if [ "${1:-}" = "--asan" ]; then
  preset=asan
  # Under the sanitizers: everything but
  # - the SIGKILL crash harness (it proves durability, not memory safety, and runs 20 restarts)
  #   and the npm OpenTelemetry test (no C++ of ours runs there that others do not cover);
  # - the 30,000-record warm-up test (timing-bound, 120 s under ASan) and the descriptor-limit
  #   test (ASan holds descriptors of its own).
  exclude=(-E 'crash_harness|traces_otel_js|MemoryIntegration.ServesWithinSeconds|AcceptBacksOffAtTheDescriptorLimit')
fi
scripts/setup.sh
cmake --preset "$preset" >/dev/null
cmake --build "build/$preset" -j2
ctest --test-dir "build/$preset" --output-on-failure -j2 "${exclude[@]}"
