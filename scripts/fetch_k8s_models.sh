#!/usr/bin/env bash
# Installs the npm packages the tests validate rendered Kubernetes manifests
# with (kubernetes-models: the API's JSON schemas as validators; yaml) into
# ${LANTERN_DATA:-$HOME/.cache/lantern}/kubernetes-models and prints the
# node_modules folder (for NODE_PATH; tests/cli/validate_k8s.js uses them).
# Idempotent: prints the folder at once when the pinned versions are there.
# Needs npm and the npm registry the first time.
set -euo pipefail

models=4.5.1
yaml=2.9.1
dir="${LANTERN_DATA:-$HOME/.cache/lantern}/kubernetes-models"
stamp="$dir/installed-$models-$yaml"
if [[ -f "$stamp" ]]; then echo "$dir/node_modules"; exit 0; fi

command -v npm >/dev/null || { echo "fetch_k8s_models.sh: npm is needed (apt-get install npm)" >&2; exit 1; }
mkdir -p "$dir"
# One install at a time (parallel test runs may all call this script).
exec 9>"$dir/.lock"
flock 9
if [[ ! -f "$stamp" ]]; then
  echo "installing kubernetes-models@$models yaml@$yaml into $dir ..." >&2
  (cd "$dir" && npm install --silent --no-audit --no-fund --ignore-scripts \
    --save-exact "kubernetes-models@$models" "yaml@$yaml" >/dev/null)
  touch "$stamp"
fi
echo "$dir/node_modules"
