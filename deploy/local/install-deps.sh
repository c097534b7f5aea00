#!/usr/bin/env bash
# Installs every Debian (bookworm) package phonebus needs to build, test and
# run locally. Safe to run again; skips apt when everything is present.
#   install-deps.sh               everything: build, test, run the local stack
#   install-deps.sh --build-only  just what compiles the binaries (container build stage)
#   install-deps.sh --only PKG... just these (what one script needs beyond the rest)
set -euo pipefail

build_packages=(
  build-essential cmake ninja-build pkg-config ca-certificates
  libboost-dev                       # Beast + Asio (header-only)
  libprotobuf-dev protobuf-compiler  # wire contracts
  libgrpc++-dev protobuf-compiler-grpc
  libpaho-mqttpp-dev libpaho-mqtt-dev
  libcli11-dev                       # flags + PHONEBUS_* env + config file + --help in one place
  libssl-dev zlib1g-dev
  nlohmann-json3-dev                 # inventory and command-form rule files
  libjemalloc-dev                    # the servers' allocator (measured 1.6x events/s)
)
packages=(
  "${build_packages[@]}"
  libgtest-dev libgmock-dev
  clang-format                       # the style check in .ci/run
  clang-tidy-14                      # tests/tidy.sh
  clang-14 libclang-rt-14-dev        # libFuzzer and its sanitizer runtimes (tests/fuzz/run.sh)
  mosquitto mosquitto-clients
  curl python3                       # test and bench scripts: HTTP requests, free ports
  nats-server                        # tests only: a three-node MQTT cluster for the broker failover test
  openssl                            # tokens for run-stack.sh; certificates for the TLS and HTTPS tests
)

case "${1:-}" in
  --build-only) packages=("${build_packages[@]}") ;;
  --only) shift; packages=("$@") ;;
esac

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "installing: ${missing[*]}" >&2
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
