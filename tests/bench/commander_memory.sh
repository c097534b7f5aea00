#!/usr/bin/env bash
# The commander's memory with N learned devices, over time: mosquitto, `commander_bench seed`
# (N retained DeviceState messages, as for commander_run.sh, without simulated phones: nobody
# is called) and the commander, whose VmRSS is read when the registry is full and again while
# it sits idle, so that memory the allocator still holds from the burst of learning shows up
# apart from what the registry keeps. Figures are reported, never asserted.
#   bash tests/bench/commander_memory.sh                 # 100,000 devices, idle 30 s
#   PHONEBUS_BENCH_DEVICES=1000 bash tests/bench/commander_memory.sh
# Environment: PHONEBUS_BENCH_DEVICES (100000; at least the 10 inventory phones),
#   PHONEBUS_BENCH_IDLE_S (30), PHONEBUS_BENCH_BUILD_DIR (build-bench),
#   PHONEBUS_BENCH_COMMANDER_ARGS (more commander flags),
#   MALLOC_CONF (reaches the commander, for comparing jemalloc settings).
set -euo pipefail
cd "$(dirname "$0")/../.."

devices=${PHONEBUS_BENCH_DEVICES:-100000}
idle_s=${PHONEBUS_BENCH_IDLE_S:-30}
read -r -a commander_args <<<"${PHONEBUS_BENCH_COMMANDER_ARGS:-}"

build=${PHONEBUS_BENCH_BUILD_DIR:-build-bench}
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPHONEBUS_SANITIZE= >/dev/null
cmake --build "$build" -j "$(nproc)" --target phonebus-commander commander_bench >/dev/null
bench="$build/tests/bench/commander_bench"

tmp=$(mktemp -d /tmp/phonebus-commander-memory-XXXXXX)
source tests/support/common.sh
start_broker

# Ten inventory phones; their ports are never called.
for i in $(seq 0 9); do printf '0015650000%02x %d\n' "$i" $((20000 + i)); done >"$tmp/phones.txt"
"$bench" seed --mqtt-broker "tcp://127.0.0.1:$broker_port" --site bench \
  --phones "$tmp/phones.txt" --inventory-out "$tmp/inventory.json" --password "memory-bench" \
  --first-account 1001 --devices "$devices"

metrics_port=$(free_port)
"$build/services/command/phonebus-commander" --listen "127.0.0.1:$(free_port)" \
  --metrics-listen "127.0.0.1:$metrics_port" --inventory "$tmp/inventory.json" \
  --mqtt-broker "tcp://127.0.0.1:$broker_port" --site bench --threads 2 \
  --log-level warn ${commander_args[@]+"${commander_args[@]}"} 2>"$tmp/commander.log" &
commander_pid=$!
pids+=("$commander_pid")

status() { awk -v f="$1:" '$1 == f {printf "%.1f", $2 / 1024}' "/proc/$commander_pid/status"; }
# Anonymous memory is the heap and thread stacks; file-backed is the mapped program and libraries.
rss() { echo "VmRSS $(status VmRSS) MiB (anon $(status RssAnon), file $(status RssFile))"; }
metric() {
  curl -s "http://127.0.0.1:$metrics_port/metrics" | awk -v m="$1" '$1 == m {print $2}'
}

wait_port "$metrics_port" "$tmp/commander.log"
start=$(date +%s.%N)
for _ in $(seq 1800); do
  learned=$(metric phonebus_device_states_total)
  [ "${learned%.*}" -ge "$devices" ] 2>/dev/null && break
  sleep 0.1
done
learn_s=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1f", b - a}')
echo "commander: $(metric phonebus_registry_devices) devices, ${learned:-0} states learned" \
  "in $learn_s s (MALLOC_CONF=${MALLOC_CONF:-unset}; args: ${commander_args[*]:-none})"
echo "  learned:      $(rss), VmHWM $(status VmHWM) MiB"
elapsed=0
for at in 1 5 10 20 30 60 120; do
  [ "$at" -le "$idle_s" ] || break
  sleep $((at - elapsed))
  elapsed=$at
  printf '  idle %3d s:   %s\n' "$at" "$(rss)"
done
