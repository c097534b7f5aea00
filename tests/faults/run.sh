#!/usr/bin/env bash
# The fault-injection suite, full length: builds phonebus-adapter, phonebus-commander and
# fault_suite (RelWithDebInfo) and runs every fault plus a one-hour soak. The suite starts and
# stops its own processes (by PID) on free loopback ports; the disk-full row mounts a small
# tmpfs, so run it as root (otherwise that row says it was not run).
#   bash tests/faults/run.sh                        # about 62 minutes
#   bash tests/faults/run.sh --soak-seconds 60      # extra arguments go to fault_suite (--help)
# ctest runs the same suite with a 30 s soak (label faults).
set -euo pipefail
cd "$(dirname "$0")/../.."
bash deploy/local/install-deps.sh
build=${PHONEBUS_FAULTS_BUILD_DIR:-build}
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j "$(nproc)" --target fault_suite
exec "$build/tests/faults/fault_suite" --soak-seconds 3600 "$@"
