#!/usr/bin/env bash
# The adapter benchmark: builds phonebus-adapter and adapter_bench, starts mosquitto, the
# adapter and a bare nginx (the yardstick) on free loopback ports in a temp directory, runs
# the bench and stops what it started, by PID. Figures are reported, never asserted.
#   bash tests/bench/run.sh                         # the whole run, about a minute and a half
#   bash tests/bench/run.sh --duration 3 --phases close,latency   # extra arguments: adapter_bench
#   PHONEBUS_BENCH_BROKER_AWAY=1 bash tests/bench/run.sh --phases close,keepalive
#     the adapter's broker is a port where nothing listens: what HTTP and the outbox alone
#     sustain (answers only; every event stays in the outbox), to tell them from publishing
set -euo pipefail
cd "$(dirname "$0")/../.."

bash deploy/local/install-deps.sh
if ! command -v nginx >/dev/null && [ ! -x /usr/sbin/nginx ]; then
  bash deploy/local/install-deps.sh --only nginx-light
fi
nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)

# The bench measures an optimised adapter: a Debug tree would report the compiler's choice.
build=${PHONEBUS_BENCH_BUILD_DIR:-build-bench}
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPHONEBUS_SANITIZE= >/dev/null
cmake --build "$build" -j "$(nproc)" --target phonebus-adapter adapter_bench

tmp=$(mktemp -d /tmp/phonebus-bench-XXXXXX)
source tests/support/common.sh
start_broker

# nginx: the least an HTTP server can do for a GET, with every path inside $tmp so it runs
# without privileges and leaves nothing behind.
nginx_port=$(free_port)
mkdir -p "$tmp/nginx/logs"
cat >"$tmp/nginx/nginx.conf" <<CONF
daemon off;
worker_processes auto;
pid $tmp/nginx/nginx.pid;
error_log $tmp/nginx/err.log;
events {}
http {
  access_log off;
  client_body_temp_path $tmp/nginx/body;
  proxy_temp_path $tmp/nginx/proxy;
  fastcgi_temp_path $tmp/nginx/fastcgi;
  server {
    listen 127.0.0.1:$nginx_port;
    location / { return 200 "ok\n"; }
  }
}
CONF
"$nginx_bin" -p "$tmp/nginx" -e "$tmp/nginx/err.log" -c "$tmp/nginx/nginx.conf" &
pids+=($!)
wait_port "$nginx_port" "$tmp/nginx/err.log"

if [ "${PHONEBUS_BENCH_BROKER_AWAY:-}" = 1 ]; then
  bench_broker_port=$broker_port
  broker_port=$(free_port)  # nothing listens there
  start_adapter "$build/adapters/action_url/phonebus-adapter"
  broker_port=$bench_broker_port
  set -- --answers-only "$@"
else
  start_adapter "$build/adapters/action_url/phonebus-adapter"
fi

rc=0
"$build/tests/bench/adapter_bench" --adapter-port "$adapter_port" --nginx-port "$nginx_port" \
  --path-prefix "/$secret" \
  --mqtt-broker "tcp://127.0.0.1:$broker_port" --site bench --adapter-pid "$adapter_pid" \
  --broker-pid "$broker_pid" "$@" || rc=$?

# A crash under load is a finding in itself, so say so rather than only stopping.
kill -0 "$adapter_pid" 2>/dev/null || echo "bench: the adapter is no longer running" >&2
if [ -s "$tmp/adapter.log" ]; then
  echo
  echo "adapter log (warn and above), last 20 lines:"
  tail -n 20 "$tmp/adapter.log"
fi
exit "$rc"
