#!/usr/bin/env bash
# Builds the phonebus image (deploy/container/build.sh: buildah, or docker where
# an engine runs) and proves it: the runtime image holds only the binaries,
# their libraries and CA certificates; runs as a non-root user; and each binary
# runs from the image's own files with the root filesystem read-only, the
# adapter answering an Action URL whose event reaches a real mosquitto.
#   tests/deploy/container_test.sh
#   PHONEBUS_IMAGE=localhost/phonebus:dev tests/deploy/container_test.sh   # test a built image
set -euo pipefail
cd "$(dirname "$0")/../.."
bash deploy/local/install-deps.sh   # mosquitto for the broker the adapter publishes to
image=${PHONEBUS_IMAGE:-}
if [ -z "$image" ]; then
  image=localhost/phonebus:test
  bash deploy/container/build.sh "$image"
fi

dir=$(realpath -m "${PHONEBUS_CONTAINER_DIR:-build-container}")
bah() { buildah --root "$dir/storage" --runroot "$dir/run" --storage-driver vfs "$@"; }
tmp=$(mktemp -d)
source tests/support/common.sh
ctr=$(bah from --pull=never "$image")
cleanup_image() { bah umount "$ctr" >/dev/null 2>&1 || true; bah rm "$ctr" >/dev/null 2>&1 || true; }
trap 'stop; cleanup_image' EXIT
root=$(bah mount "$ctr")
fail() { echo "FAIL $*" >&2; exit 1; }

# What is in it.
[ "$(bah inspect --type image --format '{{.OCIv1.Config.User}}' "$image")" = "10001:10001" ] ||
  fail "image does not run as 10001:10001"
for f in usr/local/bin/phonebus-adapter usr/local/bin/phonebus-commander usr/local/bin/phonebus \
         etc/ssl/certs/ca-certificates.crt; do
  [ -e "$root/$f" ] || fail "image lacks /$f"
done
for f in bin/sh usr/bin/apt-get usr/bin/dpkg usr/bin/perl; do
  [ ! -e "$root/$f" ] || fail "runtime image holds /$f (only binaries, libraries and CA certificates belong)"
done
unexpected=$(cd "$root" && find . -type f ! -path './usr/local/bin/*' ! -path './usr/lib/*' \
  ! -path './usr/lib64/*' ! -path './etc/*' | head)
[ -z "$unexpected" ] || fail "unexpected files in the image: $unexpected"
echo "ok   image: $(du -sh "$root" | cut -f1), user 10001, no shell or package manager"

# Run from the image's files: read-only root, the data volume writable, as
# the image's user. A private mount namespace undoes the mounts on exit. The
# function execs, so `in_image ... &` leaves $! the PID of the binary itself;
# in the foreground call it in a subshell.
# The image's environment, as a container runtime would set it.
mapfile -t image_env < <(bah inspect --type image --format '{{range .OCIv1.Config.Env}}{{println .}}{{end}}' "$image" | grep .)
data="$tmp/data"
mkdir -p "$data" && chown 10001:10001 "$data"
in_image() {
  exec unshare --mount --propagation private bash -c '
    set -e; root=$1 data=$2 n=$3; shift 3
    environment=("${@:1:n}"); shift "$n"
    mount --bind "$root" "$root" && mount -o remount,bind,ro "$root"
    mount --bind "$data" "$root/var/lib/phonebus"
    mount --rbind /dev "$root/dev"
    mount -t proc proc "$root/proc"
    exec /usr/bin/env -i "${environment[@]}" /usr/sbin/chroot --userspec=10001:10001 "$root" "$@"' \
    in_image "$root" "$data" "${#image_env[@]}" "${image_env[@]}" "$@"
}
for bin in phonebus-adapter phonebus-commander phonebus; do
  (in_image "/usr/local/bin/$bin" --help) >"$tmp/$bin.help" 2>&1 || fail "$bin --help: $(cat "$tmp/$bin.help")"
  grep -q "Usage:" "$tmp/$bin.help" || fail "$bin --help printed no usage"
done
echo "ok   --help from the image: phonebus-adapter, phonebus-commander, phonebus"

# Action URLs carry the site's URL secret as their first path segment.
secret=$(head -c 24 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')

# Only the data volume is writable: an outbox anywhere else cannot be created.
in_image /usr/local/bin/phonebus-adapter --outbox-dir /outbox --listen 127.0.0.1:0 \
  --url-secret "$secret" >"$tmp/ro.log" 2>&1 &
ro=$!
pids+=("$ro")
for _ in $(seq 100); do kill -0 "$ro" 2>/dev/null || break; sleep 0.1; done
kill -0 "$ro" 2>/dev/null && fail "the adapter started with its outbox on the read-only root"
grep -q -i "read-only" "$tmp/ro.log" || fail "no read-only refusal: $(cat "$tmp/ro.log")"
echo "ok   root filesystem read-only: $(grep -o -i '[^"]*read-only[^"]*' "$tmp/ro.log" | head -1)"

start_broker
port=$(free_port)
mosquitto_sub -h 127.0.0.1 -p "$broker_port" -t 'phonebus/v1/+/device/+/event/#' -C 1 -W 20 -F '%t' \
  >"$tmp/event.txt" 2>&1 &
sub=$!
pids+=("$sub")
in_image /usr/local/bin/phonebus-adapter --listen "127.0.0.1:$port" \
  --mqtt-broker "tcp://127.0.0.1:$broker_port" --url-secret "$secret" >"$tmp/adapter.log" 2>&1 &
pids+=($!)
wait_port "$port" "$tmp/adapter.log"
code=$(curl -s -o "$tmp/answer" -w '%{http_code}' \
  "http://127.0.0.1:$port/$secret/yealink/incoming_call?mac=00:15:65:aa:bb:cc&call_id=7&remote=%2B4930123")
[ "$code" = 200 ] || fail "adapter in the image answered $code: $(cat "$tmp/answer")"
wait "$sub" || fail "no event on the broker; adapter log: $(cat "$tmp/adapter.log")"
grep -q '^phonebus/v1/default/device/001565aabbcc/event/' "$tmp/event.txt" ||
  fail "unexpected event topic: $(cat "$tmp/event.txt")"
[ -n "$(ls -A "$data")" ] || fail "the adapter wrote nothing to its data volume"
echo "ok   adapter in the image answered 200; event on $(cat "$tmp/event.txt")"
