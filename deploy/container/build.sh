#!/usr/bin/env bash
# Builds the phonebus image from deploy/container/Dockerfile.
#   deploy/container/build.sh [IMAGE]     (default localhost/phonebus:latest)
# With a running Docker engine this is `docker build`. Without one (this
# project's machines and CI: no engine, no registry) it is buildah, on a
# bookworm base that debootstrap makes from Debian's packages. buildah keeps its
# images under $PHONEBUS_CONTAINER_DIR (default build-container/), not in the
# system store; `buildah --root DIR/storage --runroot DIR/run` reaches them.
set -euo pipefail
cd "$(dirname "$0")/../.."
image=${1:-localhost/phonebus:latest}
dockerfile=deploy/container/Dockerfile
ignore=deploy/container/Dockerfile.dockerignore

if command -v docker >/dev/null && docker info >/dev/null 2>&1; then
  exec docker build -f "$dockerfile" -t "$image" .
fi

need=()
command -v buildah >/dev/null || need+=(buildah)
command -v debootstrap >/dev/null || need+=(debootstrap)
[ ${#need[@]} -eq 0 ] || bash deploy/local/install-deps.sh --only "${need[@]}"

dir=$(realpath -m "${PHONEBUS_CONTAINER_DIR:-build-container}")
mkdir -p "$dir"
# vfs: works inside containers and sandboxes where overlay mounts are refused.
bah() { buildah --root "$dir/storage" --runroot "$dir/run" --storage-driver vfs "$@"; }
base=localhost/phonebus-base:bookworm

if ! bah inspect --type image "$base" >/dev/null 2>&1; then
  echo "build.sh: making the bookworm base with debootstrap" >&2
  rootfs="$dir/rootfs"
  rm -rf "$rootfs"
  mirror=${PHONEBUS_DEBIAN_MIRROR:-http://deb.debian.org/debian}
  debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$dir/debootstrap.log" 2>&1 ||
    { tail -20 "$dir/debootstrap.log" >&2; exit 1; }
  cat >"$rootfs/etc/apt/sources.list" <<LIST
deb $mirror bookworm main
deb $mirror bookworm-updates main
deb http://deb.debian.org/debian-security bookworm-security main
LIST
  ctr=$(bah from scratch)
  cp -a "$rootfs/." "$(bah mount "$ctr")/"
  bah umount "$ctr" >/dev/null
  bah config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$ctr"
  bah commit --quiet --rm "$ctr" "$base" >/dev/null
  rm -rf "$rootfs"
fi

# chroot isolation: no nested user namespaces or cgroups needed. Without
# layer caching (PHONEBUS_BUILDAH_LAYERS=true turns it on) vfs copies the root
# filesystem once per stage instead of once per instruction.
bah bud --isolation chroot --layers="${PHONEBUS_BUILDAH_LAYERS:-false}" --pull=never --ignorefile "$ignore" \
  --build-arg BASE_IMAGE="$base" -f "$dockerfile" -t "$image" .
