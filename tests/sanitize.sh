#!/usr/bin/env bash
# The test suite under a sanitizer, each in its own build directory (GCC, RelWithDebInfo):
#   bash tests/sanitize.sh address   # AddressSanitizer + UndefinedBehaviorSanitizer (and leaks),
#                                    # every test: build-asan/
#   bash tests/sanitize.sh thread    # ThreadSanitizer, the tests of our threaded code (CONCURRENT
#                                    # in tests/CMakeLists.txt, ctest -L concurrent): build-tsan/
# Extra arguments go to ctest. Any sanitizer report fails the test that triggered it: UBSan is
# built with -fno-sanitize-recover, and every runtime stops at its first report. Child processes
# the tests start (the adapter, commander, CLI binaries) inherit the options below.
# gRPC, protobuf, paho and OpenSSL come uninstrumented from Debian: ASan still checks our side of
# every call; TSan needs the suppressions in tests/sanitizers/ for paho's own threads.
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-}
shift || true
sanitizers=$PWD/tests/sanitizers
case "$mode" in
  address)
    flags=address,undefined
    build=${PHONEBUS_ASAN_BUILD_DIR:-build-asan}
    targets=(all)
    labels=()
    export ASAN_OPTIONS="halt_on_error=1:abort_on_error=1:detect_leaks=1:strict_init_order=1:check_initialization_order=1:detect_stack_use_after_return=1"
    export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
    ;;
  thread)
    flags=thread
    build=${PHONEBUS_TSAN_BUILD_DIR:-build-tsan}
    targets=(phonebus_concurrent_tests)
    labels=(-L concurrent)
    export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:suppressions=$sanitizers/tsan.supp:print_suppressions=0"
    ;;
  *)
    echo "usage: bash tests/sanitize.sh address|thread [ctest arguments]" >&2
    exit 2
    ;;
esac

start=$(date +%s)
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPHONEBUS_SANITIZE="$flags" \
  >/dev/null
cmake --build "$build" -j "$(nproc)" --target "${targets[@]}"
built=$(date +%s)
# Sanitized code runs 2-15x slower: a longer timeout per test, and no more than 2 at once.
(cd "$build" && ctest --output-on-failure --timeout 900 -j 2 "${labels[@]}" "$@")
echo "sanitize $mode: built in $((built - start))s, tests ran in $(($(date +%s) - built))s" >&2
