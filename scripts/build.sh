#!/usr/bin/env bash
# Configures (Release, Ninja) and builds Lantern into build/.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
"$root/scripts/deps.sh"
if [[ ! -f build/build.ninja ]]; then
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
# Each LibTorch translation unit needs ~1.5 GB of memory to compile.
cmake --build build -j "${LANTERN_JOBS:-$(nproc)}" "$@"
