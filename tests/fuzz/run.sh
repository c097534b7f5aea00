#!/usr/bin/env bash
# Builds the libFuzzer targets (clang-14 with ASan and UBSan, in their own build directory) and
# runs each for a bounded time, starting from its seeds in tests/fuzz/corpus/<target>/. Fails when
# any target crashes, trips a sanitizer, breaks a checked property, leaks or hangs on one input.
# What libFuzzer finds stays in the build directory, never in the repository: new corpus entries
# in <build>/corpus/<target>/, the input that failed in <build>/artifacts/<target>/ (to replay:
# <build>/tests/fuzz/fuzz_<target> <that file>; add it to corpus/<target>/ with the fix).
#   bash tests/fuzz/run.sh              # 10 s per target
#   bash tests/fuzz/run.sh 300          # 5 minutes per target
#   PHONEBUS_FUZZ_TARGETS="url yealink" bash tests/fuzz/run.sh 60
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-10}
build=${PHONEBUS_FUZZ_BUILD_DIR:-build-fuzz}

start=$(date +%s)
# PHONEBUS_BUILD_TESTS=OFF: only the libraries the targets need, not the GoogleTest suite.
CC=clang-14 CXX=clang++-14 cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DPHONEBUS_BUILD_TESTS=OFF -DPHONEBUS_FUZZ=ON -DPHONEBUS_SANITIZE=address,undefined >/dev/null
cmake --build "$build" -j "$(nproc)" --target phonebus_fuzzers
built=$(date +%s)

export ASAN_OPTIONS="halt_on_error=1:abort_on_error=1:detect_leaks=1"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"

targets=${PHONEBUS_FUZZ_TARGETS:-$(ls tests/fuzz/corpus)}
failed=()
for target in $targets; do
  corpus="$build/corpus/$target"
  artifacts="$build/artifacts/$target"
  log="$build/fuzz_$target.log"
  mkdir -p "$corpus" "$artifacts"
  # The first corpus directory receives what libFuzzer finds; the seeds are only read.
  # -timeout: one input taking longer is a hang, reported like a crash.
  if "$build/tests/fuzz/fuzz_$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -artifact_prefix="$artifacts/" -print_final_stats=1 "$corpus" "tests/fuzz/corpus/$target" \
    >"$log" 2>&1; then
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    echo "fuzz_$target: ok, ${runs:-?} inputs in ${seconds}s" >&2
  else
    echo "fuzz_$target: FAILED; the end of $log:" >&2
    tail -n 60 "$log" >&2
    ls -1 "$artifacts" >&2
    failed+=("$target")
  fi
done
echo "fuzz: built in $((built - start))s, ran in $(($(date +%s) - built))s" >&2
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: failed: ${failed[*]}" >&2
  exit 1
fi
