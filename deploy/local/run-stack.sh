#!/usr/bin/env bash
# The whole stack on this machine with local defaults: mosquitto on
# 127.0.0.1:1883, phonebus-adapter on 127.0.0.1:8080, phonebus-commander on
# 127.0.0.1:50051, site "default". With --demo, two simulated phones (a
# Yealink and a SNOM, tests/phonesim) are provisioned against the adapter and
# listed in the commander's inventory, so `phonebus dial` rings them and
# `phonebus watch` shows their calls. The commander requires a bearer token:
# the CLI's is in phonebus-data/cli-token (export PHONEBUS_TOKEN_FILE=...).
# Action URLs carry a per-site secret as their first path segment: it is made
# once into $PHONEBUS_DATA_DIR/url-secret (default phonebus-data/) and given to
# the adapter and to `phonebus config`.
# Ctrl-C (or SIGTERM) stops what this script started, by PID.
set -euo pipefail
cd "$(dirname "$0")/../.."
bash deploy/local/install-deps.sh
build=${PHONEBUS_BUILD_DIR:-build}
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
demo=false
if [ "${1:-}" = "--demo" ]; then demo=true; shift; fi
targets=(phonebus-adapter phonebus-commander phonebus)
$demo && targets+=(phonesim)
cmake --build "$build" -j "$(nproc)" --target "${targets[@]}"

data=${PHONEBUS_DATA_DIR:-$PWD/phonebus-data}
mkdir -p "$data/mosquitto"
secret_file="$data/url-secret"
if [ ! -s "$secret_file" ]; then
  # 24 random bytes, URL-safe base64: 32 characters phones send without encoding.
  (umask 077 && head -c 24 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=' >"$secret_file")
fi
secret=$(head -n 1 "$secret_file")
# Children in their own process groups: Ctrl-C reaches only this script,
# which then stops them in order.
set -m
pids=()
stop() {
  # Newest first: the services drain into the broker before the broker goes.
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
  --mqtt-broker "tcp://127.0.0.1:$broker_port" --outbox-dir "$data/outbox" \
  --url-secret-file "$secret_file" "$@" &
pids+=($!)

inventory=()
if $demo; then
  # The phones load what `phonebus config` prints for this adapter URL (secret included).
  (umask 077 && cat > "$data/demo-phones.json") <<JSON
{"phones": [
  {"id": "001565aabbcc", "family": "yealink-servlet", "model": "T46S", "port": 9001,
   "auth": "digest", "username": "admin", "password": "demo-yealink",
   "account": "1001@pbx.example", "adapter_url": "http://127.0.0.1:8080/$secret", "talk_time_ms": 5000},
  {"id": "000413aabbcc", "family": "snom", "model": "D785", "port": 9002,
   "auth": "basic", "username": "admin", "password": "demo-snom",
   "account": "1002@pbx.example", "adapter_url": "http://127.0.0.1:8080/$secret", "talk_time_ms": 5000}
]}
JSON
  (umask 077 && cat > "$data/demo-inventory.json") <<JSON
{"devices": [
  {"id": "001565aabbcc", "vendor": "yealink", "model": "T46S", "address": "127.0.0.1:9001",
   "username": "admin", "password": "demo-yealink", "account": "1001@pbx.example"},
  {"id": "000413aabbcc", "vendor": "snom", "model": "D785", "address": "127.0.0.1:9002",
   "username": "admin", "password": "demo-snom", "account": "1002@pbx.example"}
]}
JSON
  "$build/tests/phonesim/phonesim" --config "$data/demo-phones.json" >/dev/null &
  pids+=($!)
  inventory=(--inventory "$data/demo-inventory.json")
fi

# The commander serves only clients with a token (README "Security"). This
# machine's CLI gets one for every site, made once and kept with the data;
# the commander knows only its SHA-256.
token_file="$data/cli-token"
if [ ! -s "$token_file" ]; then
  (umask 077 && openssl rand -hex 32 >"$token_file")
fi
printf 'local-cli * %s\n' "$(tr -d '\n' <"$token_file" | sha256sum | cut -c1-64)" >"$data/tokens"

"$build/services/command/phonebus-commander" --tokens-file "$data/tokens" \
  --mqtt-broker "tcp://127.0.0.1:$broker_port" "${inventory[@]}" &
pids+=($!)

cli="$build/services/cli/phonebus"
cat <<MSG >&2
phonebus is running:
  adapter    http://127.0.0.1:8080   (health /healthz, metrics /metrics)
  commander  127.0.0.1:50051 gRPC    (metrics http://127.0.0.1:9091/metrics)
  broker     tcp://127.0.0.1:$broker_port
  URL secret $secret_file   (phones: $cli config yealink --adapter-url http://127.0.0.1:8080 --url-secret-file $secret_file)
The CLI's token for the commander (in each shell that runs phonebus):
      export PHONEBUS_TOKEN_FILE=$token_file
Try:  $cli watch --mqtt-broker tcp://127.0.0.1:$broker_port
      curl "http://127.0.0.1:8080/\$(cat $secret_file)/yealink/incoming_call?mac=001565aabbcc&call_id=1&remote=%2B4930123"
MSG
$demo && cat <<MSG >&2
      $cli devices
      $cli dial 1001 +4930123456      (the simulated Yealink calls; watch shows the call)
      $cli dnd 001565aabbcc on        (Yealink DNDOn; SNOM only toggles, see README)
MSG
echo "Ctrl-C stops it." >&2
wait -n "${pids[@]}"
