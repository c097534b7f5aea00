#!/usr/bin/env bash
# The adapter benchmark: builds phonebus-adapter and adapter_bench, starts mosquitto, the
# adapter and a bare nginx (the yardstick) on free loopback ports in a temp directory, runs
# the bench and stops what it started, by PID. Figures are reported, never asserted.
#   bash tests/bench/run.sh                         # the whole run, about a minute and a half
#   bash tests/bench/run.sh --duration 3 --phases close,latency   # extra arguments: adapter_bench
set -euo pipefail
cd "$(dirname "$0")/../.."

bash deploy/local/install-deps.sh
if ! command -v nginx >/dev/null && [ ! -x /usr/sbin/nginx ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -q
  $SUDO apt-get install -y -q nginx-light
fi
nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)

# The bench measures an optimised adapter: a Debug tree would report the compiler's choice.
build=${PHONEBUS_BENCH_BUILD_DIR:-build-bench}
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPHONEBUS_SANITIZE= >/dev/null
cmake --build "$build" -j "$(nproc)" --target phonebus-adapter adapter_bench

tmp=$(mktemp -d /tmp/phonebus-bench-XXXXXX)
pids=()
stop() {
  # Reverse start order: the adapter drains before its broker goes away.
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    kill -TERM "${pids[i]}" 2>/dev/null || true
    wait "${pids[i]}" 2>/dev/null || true
  done
  rm -rf "$tmp"
}
trap stop EXIT
trap 'exit 130' INT TERM

free_port() {
  python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'
}

# Waits until something listens on 127.0.0.1:$1, or gives up after 10 s.
wait_port() {
  for _ in $(seq 100); do
    if python3 -c 'import socket,sys;socket.create_connection(("127.0.0.1",int(sys.argv[1])),1)' \
      "$1" 2>/dev/null; then
      return 0
    fi
    sleep 0.1
  done
  echo "bench: nothing listens on 127.0.0.1:$1; see $2" >&2
  cat "$2" >&2 || true
  return 1
}

# mosquitto: unlimited queues, so the broker's defaults (1000 queued, 20 in flight per
# client) cannot show up as adapter losses.
broker_port=$(free_port)
mkdir -p "$tmp/mosquitto"
cat >"$tmp/mosquitto/mosquitto.conf" <<CONF
listener $broker_port 127.0.0.1
allow_anonymous true
persistence false
max_queued_messages 0
max_inflight_messages 0
log_dest file $tmp/mosquitto/mosquitto.log
CONF
# As root, mosquitto would switch to its own user, who cannot write to our temp directory.
[ "$(id -u)" -ne 0 ] || echo "user root" >>"$tmp/mosquitto/mosquitto.conf"
mosquitto -c "$tmp/mosquitto/mosquitto.conf" 2>>"$tmp/mosquitto/mosquitto.log" &
broker_pid=$!
pids+=("$broker_pid")
wait_port "$broker_port" "$tmp/mosquitto/mosquitto.log"

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

adapter_port=$(free_port)
"$build/adapters/action_url/phonebus-adapter" --listen "127.0.0.1:$adapter_port" \
  --mqtt-broker "tcp://127.0.0.1:$broker_port" --outbox-dir "$tmp/outbox" --site bench \
  --log-level warn 2>"$tmp/adapter.log" &
adapter_pid=$!
pids+=("$adapter_pid")
wait_port "$adapter_port" "$tmp/adapter.log"

rc=0
"$build/tests/bench/adapter_bench" --adapter-port "$adapter_port" --nginx-port "$nginx_port" \
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
