#!/usr/bin/env bash
# CPU per event, which other work on the machine does not move much (unlike events/s): starts
# mosquitto and the adapter as run.sh does, offers a fixed number of new-connection events at
# a fixed rate (adapter_bench's open-loop phase) and then a closed-loop burst, and prints the
# CPU seconds the adapter and mosquitto spent per 10,000 events and the adapter's context
# switches per event, from /proc before and after each phase (which waits until every
# answered event reached the bench's subscriber).
#   bash tests/bench/cpu_per_event.sh                      # 20,000 events at 2,000/s, 5 s at c=64
#   PHONEBUS_BENCH_BUILD_DIR=build bash tests/bench/cpu_per_event.sh --rate 4000
#   PHONEBUS_PERF=1 ...: also `perf record -g` the adapter during the closed-loop phase
#   PHONEBUS_ADAPTER_BIN=/tmp/old/phonebus-adapter ...: measure another build (A/B)
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${PHONEBUS_BENCH_BUILD_DIR:-build-bench}
rate=2000
seconds=10
closed_seconds=5
while [ $# -gt 0 ]; do
  case "$1" in
    --rate) rate=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --closed-seconds) closed_seconds=$2; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
if [ -z "${PHONEBUS_ADAPTER_BIN:-}" ]; then
  cmake --build "$build" -j 2 --target phonebus-adapter adapter_bench >/dev/null
fi

tmp=$(mktemp -d /tmp/phonebus-cpu-XXXXXX)
source tests/support/common.sh
start_broker
start_adapter "${PHONEBUS_ADAPTER_BIN:-$build/adapters/action_url/phonebus-adapter}"

ticks=$(getconf CLK_TCK)
cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; }  # utime + stime, in ticks
switches() {
  cat /proc/"$1"/task/*/status | awk '/ctxt_switches/ {n += $2} END {print n}'
}
events() {
  curl -s "http://127.0.0.1:$adapter_port/metrics" |
    awk '/^phonebus_events_total/ {n += $2} END {printf "%d\n", n}'
}
published() {
  curl -s "http://127.0.0.1:$adapter_port/metrics" |
    awk '/^phonebus_published_total/ {n += $2} END {printf "%d\n", n}'
}

bench() {
  "$build/tests/bench/adapter_bench" --adapter-port "$adapter_port" --nginx-port 0 \
    --path-prefix "/$secret" --mqtt-broker "tcp://127.0.0.1:$broker_port" --site bench \
    --adapter-pid "$adapter_pid" --broker-pid "$broker_pid" --warmup 0 "$@" >"$tmp/bench.out"
}

measure() {  # name, then adapter_bench arguments
  local name=$1
  shift
  local a0 b0 s0 e0 p0 a1 b1 s1 e1 p1 perf_pid=
  a0=$(cpu "$adapter_pid") b0=$(cpu "$broker_pid") s0=$(switches "$adapter_pid")
  e0=$(events) p0=$(published)
  if [ "${PHONEBUS_PERF:-}" = 1 ] && [ "$name" = closed ]; then
    perf record -e cpu-clock -F 999 -g -p "$adapter_pid" -o "$tmp/../phonebus-cpu-perf.data" \
      2>/dev/null &
    perf_pid=$!
  fi
  bench "$@"
  [ -z "$perf_pid" ] || { kill -INT "$perf_pid"; wait "$perf_pid" || true; }
  a1=$(cpu "$adapter_pid") b1=$(cpu "$broker_pid") s1=$(switches "$adapter_pid")
  e1=$(events) p1=$(published)
  local n=$((e1 - e0))
  awk -v name="$name" -v n="$n" -v p=$((p1 - p0)) -v a=$((a1 - a0)) -v b=$((b1 - b0)) \
    -v s=$((s1 - s0)) -v t="$ticks" -v load="$(cut -d' ' -f1 /proc/loadavg)" 'BEGIN {
      printf "%-7s events %7d  published %7d  adapter %6.3f s/10k events (%5.1f us/event)  " \
        "mosquitto %6.3f s/10k  adapter ctx sw/event %5.2f  load %s\n", name, n, p,
        a / t / n * 1e4, a / t / n * 1e6, b / t / n * 1e4, s / n, load }'
  grep -E '^\| (new conn|keep)' "$tmp/bench.out" | sed 's/^/    /'
}

bench --phases close --duration 2  # warm-up, not measured
measure open --phases latency --rate "$rate" --latency-duration "$seconds"
measure closed --phases close --duration "$closed_seconds"
