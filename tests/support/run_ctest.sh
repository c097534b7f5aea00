# Sourced by tests/run.sh and tests/sanitize.sh: runs ctest in build dir $1 with per-test timeout
# $2 (seconds) and the rest as ctest arguments.
#
# The broker-cluster test (ClusterFailover, three nats-server nodes) waits on nats's JetStream
# leader elections, whose timing on a busy 2-core machine varies from run to run: it gets up to
# three attempts, run on its own after the rest; failing all three fails the run. Every other test
# gets one attempt.
run_ctest() {
  local build=$1 timeout=$2
  shift 2
  local cluster='^ClusterFailover\.'
  (cd "$build" && ctest --output-on-failure --timeout "$timeout" -j 2 -E "$cluster" "$@")
  if [ $# -eq 0 ]; then  # not when a subset was asked for
    (cd "$build" && ctest --output-on-failure --timeout "$timeout" -R "$cluster" \
      --repeat until-pass:3)
  fi
}
