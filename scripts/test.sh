#!/usr/bin/env bash
# Installs what is missing, builds Firebreak with its tests and runs every test.
#   scripts/test.sh           the test build (RelWithDebInfo)
#   scripts/test.sh --asan    the same suite under AddressSanitizer + UndefinedBehaviorSanitizer
set -euo pipefail
cd "$(dirname "$0")/.."
preset=test
if [ "${1:-}" = "--asan" ]; then preset=asan; fi
scripts/setup.sh
cmake --preset "$preset" >/dev/null
cmake --build "build/$preset" -j2
ctest --test-dir "build/$preset" --output-on-failure -j2
