# Shared by the test and bench scripts (sourced, with $tmp set to the run's temp
# directory): processes started are recorded in pids and stopped on exit in
# reverse start order (a service drains before its broker goes away), by PID.
pids=()
stop() {
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

# Waits until something listens on 127.0.0.1:$1, or gives up after 10 s showing log $2.
wait_port() {
  for _ in $(seq 100); do
    if python3 -c 'import socket,sys;socket.create_connection(("127.0.0.1",int(sys.argv[1])),1)' \
      "$1" 2>/dev/null; then
      return 0
    fi
    sleep 0.1
  done
  echo "$(basename "$0"): nothing listens on 127.0.0.1:$1; see $2" >&2
  cat "$2" >&2 || true
  return 1
}

# mosquitto on a free port (sets broker_port, broker_pid) with unlimited queues,
# so the broker's defaults (1000 queued, 20 in flight per client) cannot show up
# as losses or hold back retained states and results.
start_broker() {
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
}

# Starts phonebus-adapter ($1) for the benches on a free port against $broker_port, with a fresh
# URL secret (phones send it as the first path segment; so do the benches). Sets adapter_port,
# secret and adapter_pid.
start_adapter() {
  adapter_port=$(free_port)
  secret=$(head -c 24 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')
  (umask 077 && echo "$secret" >"$tmp/url-secret")
  "$1" --listen "127.0.0.1:$adapter_port" --mqtt-broker "tcp://127.0.0.1:$broker_port" \
    --outbox-dir "$tmp/outbox" --site bench --url-secret-file "$tmp/url-secret" \
    --log-level warn 2>"$tmp/adapter.log" &
  adapter_pid=$!
  pids+=("$adapter_pid")
  wait_port "$adapter_port" "$tmp/adapter.log"
}
