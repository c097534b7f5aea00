#!/usr/bin/env bash
# The test command: installs what is missing, builds, and runs every test
# (unit, integration) with ctest. Each test starts its own mosquitto on a free
# loopback port and stops it by PID.
#   bash tests/run.sh              # all tests
#   bash tests/run.sh -L unit      # extra arguments go to ctest
set -euo pipefail
cd "$(dirname "$0")/.."
bash deploy/local/install-deps.sh
build=${PHONEBUS_BUILD_DIR:-build}
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j "$(nproc)"
cd "$build"
ctest --output-on-failure --timeout 300 -j 2 "$@"
