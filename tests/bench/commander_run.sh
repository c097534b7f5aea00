#!/usr/bin/env bash
# The commander benchmark: builds phonebus-commander, phonesim and commander_bench, starts on
# free loopback ports in a temp directory mosquitto, 1,000 simulated phones with Digest logins
# and the commander with 100,000 devices in its registry (1,000 from its inventory and the bus,
# the rest learned from retained states), runs the bench and stops what it started, by PID.
# Figures are reported, never asserted.
#   bash tests/bench/commander_run.sh                        # about two minutes
#   bash tests/bench/commander_run.sh --duration 3 --rates 1000 --latency-duration 3
# Extra arguments go to `commander_bench load` (--help lists them). Environment:
#   PHONEBUS_BENCH_PHONES (1000), PHONEBUS_BENCH_DEVICES (100000),
#   PHONEBUS_BENCH_COMMANDER_THREADS (2), PHONEBUS_BENCH_BUILD_DIR (build-bench),
#   PHONEBUS_BENCH_COMMANDER_ARGS (more commander flags, e.g. "--idempotency-max-entries 1000")
set -euo pipefail
cd "$(dirname "$0")/../.."

phones=${PHONEBUS_BENCH_PHONES:-1000}
devices=${PHONEBUS_BENCH_DEVICES:-100000}
threads=${PHONEBUS_BENCH_COMMANDER_THREADS:-2}
read -r -a commander_args <<<"${PHONEBUS_BENCH_COMMANDER_ARGS:-}"

bash deploy/local/install-deps.sh

# An optimised commander, as deployed: a Debug tree would report the compiler's choice.
build=${PHONEBUS_BENCH_BUILD_DIR:-build-bench}
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPHONEBUS_SANITIZE= >/dev/null
cmake --build "$build" -j "$(nproc)" --target phonebus-commander phonesim commander_bench
bench="$build/tests/bench/commander_bench"

# A thousand phones, each with a listener and a keep-alive connection from each client.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

tmp=$(mktemp -d /tmp/phonebus-commander-bench-XXXXXX)
source tests/support/common.sh
start_broker

# The phones: Yealink T46S (servlet form) with Digest logins, as deployed. Calls end after a
# short talk time so the simulator's state stays small; it keeps few records per phone.
password="bench-$RANDOM$RANDOM"
"$build/tests/phonesim/phonesim" --count "$phones" --family yealink-servlet --auth digest \
  --username admin --password "$password" --first-account 1001@pbx.example \
  --answer-delay-ms 20 --talk-time-ms 200 --max-records 16 \
  >"$tmp/phones.txt" 2>"$tmp/phonesim.log" &
phonesim_pid=$!
pids+=("$phonesim_pid")
for _ in $(seq 300); do
  [ "$(wc -l <"$tmp/phones.txt")" -ge "$phones" ] && break
  kill -0 "$phonesim_pid" 2>/dev/null || break
  sleep 0.1
done
if [ "$(wc -l <"$tmp/phones.txt")" -lt "$phones" ]; then
  echo "bench: phonesim did not start $phones phones; its log:" >&2
  cat "$tmp/phonesim.log" >&2
  exit 1
fi

# The registry's contents go to the broker first, so the commander learns them at start-up
# from retained messages, as after a restart in production.
"$bench" seed --mqtt-broker "tcp://127.0.0.1:$broker_port" --site bench \
  --phones "$tmp/phones.txt" --inventory-out "$tmp/inventory.json" --password "$password" \
  --first-account 1001 --devices "$devices"

# The bench is a client like any other: a token for every site, its SHA-256 in the tokens file.
PHONEBUS_TOKEN=$(openssl rand -hex 32)
export PHONEBUS_TOKEN
printf 'bench * %s\n' "$(printf %s "$PHONEBUS_TOKEN" | sha256sum | cut -c1-64)" >"$tmp/tokens"

grpc_port=$(free_port)
metrics_port=$(free_port)
"$build/services/command/phonebus-commander" --listen "127.0.0.1:$grpc_port" \
  --metrics-listen "127.0.0.1:$metrics_port" --inventory "$tmp/inventory.json" \
  --tokens-file "$tmp/tokens" \
  --mqtt-broker "tcp://127.0.0.1:$broker_port" --site bench --threads "$threads" \
  --log-level warn ${commander_args[@]+"${commander_args[@]}"} 2>"$tmp/commander.log" &
commander_pid=$!
pids+=("$commander_pid")
wait_port "$grpc_port" "$tmp/commander.log"

rc=0
"$bench" load --commander "127.0.0.1:$grpc_port" --metrics "127.0.0.1:$metrics_port" \
  --commander-pid "$commander_pid" --phonesim-pid "$phonesim_pid" --broker-pid "$broker_pid" \
  --phones "$tmp/phones.txt" --password "$password" --devices "$devices" \
  --direct-threads "$threads" "$@" || rc=$?

# A crash under load is a finding in itself, so say so rather than only stopping.
kill -0 "$commander_pid" 2>/dev/null || echo "bench: the commander is no longer running" >&2
if [ -s "$tmp/commander.log" ]; then
  echo
  echo "commander log (warn and above): $(wc -l <"$tmp/commander.log") lines, the last 5:"
  tail -n 5 "$tmp/commander.log" | cut -c1-300
fi
exit "$rc"
