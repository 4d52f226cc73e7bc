#!/usr/bin/env bash
# Builds and runs one benchmark.
#
#   scripts/bench.sh NAME [args...]   build bench_NAME (bench/NAME.cc) if
#                                     needed and run it with the args
#   scripts/bench.sh list             the available benchmarks
#   scripts/bench.sh all [PREVIOUS.json]
#                                     every benchmark, short settings (under
#                                     15 minutes on 2 cores once built);
#                                     writes bench/results/latest.json and
#                                     latest.md (logs in bench/results/logs/)
#                                     and, given an earlier results file,
#                                     prints the change of each figure
#
# The benchmark's output passes through unchanged on stdout, so its last line
# is its JSON result; build output goes to stderr.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

list_benchmarks() {
  local file
  for file in bench/*.cc; do
    [[ -e "$file" ]] && basename "$file" .cc
  done
}

usage() {
  echo "usage: scripts/bench.sh NAME [args...] | list | all [PREVIOUS.json]"
  echo "benchmarks: $(list_benchmarks | tr '\n' ' ')"
}

if [[ $# -lt 1 ]]; then
  usage >&2
  exit 2
fi
name="$1"
shift
case "$name" in
  list)
    list_benchmarks
    exit 0
    ;;
  -h | --help)
    usage
    exit 0
    ;;
  all)
    exec "$root/scripts/bench_all.sh" "$@"
    ;;
esac
if [[ ! "$name" =~ ^[A-Za-z0-9_]+$ || ! -f "bench/$name.cc" ]]; then
  echo "bench.sh: unknown benchmark '$name'" >&2
  usage >&2
  exit 2
fi

if [[ -x scripts/deps.sh ]]; then
  "$root/scripts/deps.sh" >&2
fi
# Configure once; later builds re-run CMake by themselves when needed.
if [[ ! -f build/build.ninja ]]; then
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
cmake --build build --target "bench_$name" >&2

exec "build/bin/bench_$name" "$@"
