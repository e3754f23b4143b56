#!/usr/bin/env bash
# Installs what is missing, builds Firebreak (Release) and runs `firebreak serve` on the
# embedded SQLite store in ./firebreak-data. Extra arguments go to `firebreak serve`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cmake --preset release >/dev/null
cmake --build build/release -j2
exec build/release/src/exe/firebreak serve "$@"
