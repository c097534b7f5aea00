#!/usr/bin/env bash
# Renders every overlay in deploy/kubernetes with `kubectl kustomize` and
# validates the result offline (tests/deploy/validate.cjs: Kubernetes API types
# from npm, plus phonebus's own policy). A broken copy must fail too, or the
# validation proves nothing.
set -euo pipefail
cd "$(dirname "$0")/../.."
need=()
command -v kubectl >/dev/null || need+=(kubernetes-client)  # Debian's kubectl
command -v npm >/dev/null || need+=(nodejs npm)
[ ${#need[@]} -eq 0 ] || bash deploy/local/install-deps.sh --only "${need[@]}"

work=$(realpath -m "${PHONEBUS_BUILD_DIR:-build}/deploy-validate")
mkdir -p "$work"
cp tests/deploy/package.json tests/deploy/package-lock.json tests/deploy/validate.cjs "$work/"
if ! cmp -s tests/deploy/package-lock.json "$work/node_modules/.package-lock.json.installed" 2>/dev/null; then
  (cd "$work" && npm ci --no-audit --no-fund --loglevel=error)
  cp tests/deploy/package-lock.json "$work/node_modules/.package-lock.json.installed"
fi

failed=0
for overlay in deploy/kubernetes/overlays/*/; do
  o=$(basename "$overlay")
  kubectl kustomize "$overlay" >"$work/$o.yaml" 2>"$work/$o.err" ||
    { echo "FAIL $o: kubectl kustomize" >&2; cat "$work/$o.err" >&2; failed=1; continue; }
  flag=()
  [ "$o" != production ] || flag=(--production)
  if (cd "$work" && node validate.cjs "${flag[@]}" "$o.yaml"); then
    echo "ok   $o"
  else
    echo "FAIL $o" >&2
    failed=1
  fi
done

# The same manifests with one misspelt field and one wrong type must fail.
sed -e '0,/readOnlyRootFilesystem: true/s//readOnlyRootFilesytem: true/' \
    -e '0,/replicas: 1$/s//replicas: "1"/' "$work/dev.yaml" >"$work/broken.yaml"
if (cd "$work" && node validate.cjs broken.yaml) 2>"$work/broken.err"; then
  echo "FAIL validation accepted a misspelt field" >&2
  failed=1
elif ! grep -q readOnlyRootFilesytem "$work/broken.err" || ! grep -q '"replicas"' "$work/broken.err"; then
  echo "FAIL validation did not name the broken fields:" >&2
  cat "$work/broken.err" >&2
  failed=1
else
  echo "ok   a broken copy is refused"
fi
exit $failed
