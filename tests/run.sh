#!/usr/bin/env bash
# The test command: installs what is missing, builds, and runs every test
# (unit, integration) with ctest, then every fuzz target for a bounded time
# (tests/fuzz/run.sh). Each test starts its own mosquitto on a free loopback
# port and stops it by PID.
#   bash tests/run.sh              # all tests, then 10 s per fuzz target
#   bash tests/run.sh -L unit      # extra arguments go to ctest
#   PHONEBUS_FUZZ_SECONDS=0 bash tests/run.sh -L unit   # no fuzzing
set -euo pipefail
cd "$(dirname "$0")/.."
bash deploy/local/install-deps.sh
build=${PHONEBUS_BUILD_DIR:-build}
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j "$(nproc)"
source tests/support/run_ctest.sh
run_ctest "$build" 300 "$@"
fuzz_seconds=${PHONEBUS_FUZZ_SECONDS:-10}
if [ "$fuzz_seconds" != 0 ]; then
  bash tests/fuzz/run.sh "$fuzz_seconds"
fi
