#!/usr/bin/env bash
# Sets up everything on a fresh Debian 12 machine, builds, and trains the
# quickstart task (dense grid, learner + 2 actors on this machine).
# Extra arguments go to `lantern run`, e.g. --set run.max_wall_s=60.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
"$root/scripts/build.sh"
# The embedding annotator's word vectors (the embedded default annotator of
# configs/sparse_oni.yaml), fetched and converted once per machine.
"$root/scripts/fetch_embeddings.sh"
status=0
./build/bin/lantern run configs/quickstart.yaml "$@" || status=$?
echo "run directory: $root/runs/quickstart (summary.json, config.yaml, logs/, checkpoints/)"
exit $status
