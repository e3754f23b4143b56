#!/usr/bin/env bash
# Installs every Debian 12 package Firebreak needs to build, test and benchmark, in one
# apt-get call, and only when something is missing. Runs as root, or through sudo.
set -euo pipefail

PACKAGES=(
  g++ cmake ninja-build ccache pkg-config git
  libboost-dev nlohmann-json3-dev libspdlog-dev libcli11-dev libtomlplusplus-dev
  libssl-dev libsqlite3-dev libutfcpp-dev libhnswlib-dev libprotobuf-dev protobuf-compiler zlib1g-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libre2-dev libphonenumber-dev libabsl-dev tzdata libcurl4-openssl-dev
  sqlite3 wrk curl jq ca-certificates
  clang libfuzzer-14-dev
)

# The OpenTelemetry JS CI test (tests/otel-js) needs node and npm; use them when already
# installed (any source), else Debian's packages.
if ! command -v npm >/dev/null 2>&1; then
  PACKAGES+=(nodejs npm)
fi

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]} == 0)); then
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "setup: installing ${missing[*]}" >&2
$SUDO apt-get update
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends "${missing[@]}"
