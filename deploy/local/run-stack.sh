#!/usr/bin/env bash
# The whole stack on this machine with local defaults: mosquitto on
# 127.0.0.1:1883, phonebus-adapter on 127.0.0.1:8080, site "default".
# Ctrl-C (or SIGTERM) stops what this script started, by PID.
set -euo pipefail
cd "$(dirname "$0")/../.."
bash deploy/local/install-deps.sh
build=${PHONEBUS_BUILD_DIR:-build}
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j "$(nproc)" --target phonebus-adapter phonebus

data=${PHONEBUS_DATA_DIR:-$PWD/phonebus-data}
mkdir -p "$data/mosquitto"
# Children in their own process groups: Ctrl-C reaches only this script,
# which then stops them in order.
set -m
pids=()
stop() {
  # Newest first: the adapter drains into the broker before the broker goes.
  for (( i=${#pids[@]}-1; i>=0; i-- )); do
    kill -TERM "${pids[$i]}" 2>/dev/null || true
    wait "${pids[$i]}" 2>/dev/null || true
  done
}
trap stop EXIT INT TERM

broker_port=${PHONEBUS_BROKER_PORT:-1883}
cat > "$data/mosquitto/mosquitto.conf" <<CONF
listener $broker_port 127.0.0.1
allow_anonymous true
persistence true
persistence_location $data/mosquitto/
CONF
# As root, mosquitto would switch to its own user, who cannot write there.
[ "$(id -u)" -ne 0 ] || echo "user root" >> "$data/mosquitto/mosquitto.conf"
mosquitto -c "$data/mosquitto/mosquitto.conf" &
pids+=($!)
sleep 0.5

"$build/adapters/action_url/phonebus-adapter" \
  --mqtt-broker "tcp://127.0.0.1:$broker_port" --outbox-dir "$data/outbox" "$@" &
pids+=($!)

cat <<MSG >&2
phonebus is running:
  adapter   http://127.0.0.1:8080   (health /healthz, metrics /metrics)
  broker    tcp://127.0.0.1:$broker_port
Try:  curl 'http://127.0.0.1:8080/yealink/incoming_call?mac=001565aabbcc&call_id=1&remote=%2B4930123'
      mosquitto_sub -p $broker_port -t 'phonebus/v1/#' -v
Ctrl-C stops it.
MSG
wait -n "${pids[@]}"
