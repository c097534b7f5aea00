#!/usr/bin/env bash
# clang-tidy-14 (.clang-tidy) over the project's own C++ files, every warning an error. Uses the
# compilation database of the build tests/run.sh makes (build/, CMAKE_EXPORT_COMPILE_COMMANDS);
# configures it and generates the protobuf/gRPC headers if they are missing. Findings in our
# headers count (--header-filter); Debian's headers and the generated code in build/ do not.
#   bash tests/tidy.sh                          # every .cpp file in lib, adapters, services
#   bash tests/tidy.sh --changed main           # the files changed since main (what CI checks)
#   bash tests/tidy.sh lib/url.cpp lib/cidr.cpp # just these
set -euo pipefail
cd "$(dirname "$0")/.."
bash deploy/local/install-deps.sh
build=${PHONEBUS_BUILD_DIR:-build}
if [ ! -f "$build/compile_commands.json" ]; then
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
cmake --build "$build" -j "$(nproc)" --target phonebus_proto phonebus_grpc >/dev/null

# The code that ships. tests/ is not clean yet (~100 findings, most of them accessors in the
# test support code); it joins once they are fixed, except tests/bench/adapter_bench.cpp: its
# Asio coroutines do not compile under clang-14 with Debian's libstdc++ and Boost (no
# asio::awaitable, no std::coroutine_traits).
all_files() {
  git ls-files 'lib/*.cpp' 'adapters/*.cpp' 'services/*.cpp'
}

# The files changed since $1, each checked once: a changed .cpp itself, a changed header through
# one of our files that includes it (its own .cpp if it has one; from ninja's dependency log, so
# this needs the build). A changed check list means every file.
changed_files() {
  local changed
  changed=$(git diff --name-only "$1" --)
  if grep -qxE '\.clang-tidy|tests/tidy\.sh' <<<"$changed"; then
    all_files
    return
  fi
  local headers
  headers=$(grep -E '\.h$' <<<"$changed" | sed "s|^|$PWD/|" || true)
  {
    grep -E '\.cpp$' <<<"$changed" || true
    if [ -n "$headers" ]; then
      # "object: #deps ..." then the object's source and headers, indented, source first.
      # Only our files may stand for a header: one from tests/ would be dropped below, the header
      # unchecked.
      ninja -C "$build" -t deps | HEADERS=$headers OURS=$(all_files | sed "s|^|$PWD/|") awk '
        BEGIN {
          n = split(ENVIRON["HEADERS"], h, "\n"); for (i = 1; i <= n; i++) changed[h[i]] = 1
          n = split(ENVIRON["OURS"], o, "\n"); for (i = 1; i <= n; i++) ours[o[i]] = 1
        }
        /^[^ ]/ { source = ""; next }
        /^    / {
          dep = $1
          if (source == "") { source = dep; next }
          if (!(source in ours) || !(dep in changed)) next
          own = dep; sub(/\.h$/, ".cpp", own)
          if (!(dep in includer) || source == own) includer[dep] = source
        }
        END { for (dep in includer) print includer[dep] }
      ' | sed "s|^$PWD/||"
    fi
  } | sort -u | grep -xF -f <(all_files) || true
}

case "${1:-}" in
  --changed)
    if git rev-parse -q --verify "${2:?--changed needs a commit}^{commit}" >/dev/null; then
      if git diff --name-only "$2" -- | grep -qE '\.h$'; then
        # Who includes a changed header comes from ninja's dependency log, complete once every
        # file is built: nothing to do after tests/run.sh (as in .ci/run), the whole build if not.
        cmake --build "$build" -j "$(nproc)" >/dev/null
      fi
      mapfile -t files < <(changed_files "$2")
    else
      echo "tidy: no commit $2 here (a shallow clone?): checking every file" >&2
      mapfile -t files < <(all_files)
    fi
    ;;
  "") mapfile -t files < <(all_files) ;;
  *) files=("$@") ;;
esac
if [ ${#files[@]} -eq 0 ]; then
  echo "tidy: no C++ file to check" >&2
  exit 0
fi

start=$(date +%s)
# One file per clang-tidy, two at a time (CI has 2 cores); each file's report is printed whole.
printf '%s\0' "${files[@]}" | xargs -0 -n 1 -P "$(nproc)" sh -c '
  out=$(clang-tidy-14 -p "$1" --quiet --warnings-as-errors="*" \
        --header-filter="^$2/(lib|adapters|services|tests)/" "$3" 2>&1) && exit 0
  printf "%s\n" "$out" | grep -v "warnings\? generated\.$" >&2
  exit 1' tidy "$build" "$PWD" || {
  echo "tidy: findings above (fix them, or NOLINT(check) with the reason)" >&2
  exit 1
}
echo "tidy: ${#files[@]} files clean in $(( $(date +%s) - start ))s" >&2
