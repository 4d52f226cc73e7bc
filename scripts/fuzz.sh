#!/usr/bin/env bash
# Builds the libFuzzer targets (clang-14 with AddressSanitizer and
# UndefinedBehaviorSanitizer) into build-fuzz/ and runs each for a set time:
#   scripts/fuzz.sh [--seconds N] [TARGET ...]
# TARGETs: trajectory config status_lines llm_answer (default: all), each
# for N seconds (default 600). Corpora grow in build-fuzz/corpus/<target>
# (started from fuzz/corpus/<target>, the generated seeds and, for config,
# configs/*.yaml); crashing inputs land in build-fuzz/crashes/<target>/ --
# copy them to fuzz/regressions/<target>/ and the replay test
# (FuzzReplayTest) runs them in every build. Prints one JSON line per target
# and a summary line last; exits 1 if any target crashed.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

seconds=600
targets=()
while [[ $# -gt 0 ]]; do
  case $1 in
    --seconds) seconds=$2; shift 2 ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    -*) echo "error: unknown option $1" >&2; exit 2 ;;
    *) targets+=("$1"); shift ;;
  esac
done
[[ ${#targets[@]} -gt 0 ]] || targets=(trajectory config status_lines llm_answer)
for t in "${targets[@]}"; do
  case $t in
    trajectory|config|status_lines|llm_answer) ;;
    *) echo "error: unknown target '$t'" >&2; exit 2 ;;
  esac
done
for tool in clang-14 clang++-14; do
  command -v "$tool" >/dev/null || {
    echo "error: $tool is missing (apt-get install clang-14 libclang-rt-14-dev)" >&2
    exit 2
  }
done

"$root/scripts/deps.sh"
sanitizers="-fsanitize=address,undefined,fuzzer-no-link -fno-sanitize-recover=undefined -fno-omit-frame-pointer -g"
if [[ ! -f build-fuzz/build.ninja ]]; then
  cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_C_COMPILER=clang-14 -DCMAKE_CXX_COMPILER=clang++-14 \
    -DLANTERN_FUZZ=ON -DCMAKE_C_FLAGS="$sanitizers" \
    -DCMAKE_CXX_FLAGS="$sanitizers" >/dev/null
fi
cmake --build build-fuzz -j "${LANTERN_JOBS:-$(nproc)}" \
  --target "${targets[@]/%/_fuzzer}" >&2

crashed=0
summary=""
for t in "${targets[@]}"; do
  corpus=build-fuzz/corpus/$t
  crashes=build-fuzz/crashes/$t
  mkdir -p "$corpus" "$crashes"
  if [[ -d fuzz/corpus/$t ]]; then cp -n fuzz/corpus/"$t"/* "$corpus"/ 2>/dev/null || true; fi
  if [[ $t == config ]]; then cp -n configs/*.yaml "$corpus"/; fi
  log=build-fuzz/$t.log
  status=0
  UBSAN_OPTIONS=print_stacktrace=1 LANTERN_FUZZ_SEED_DIR="$corpus" \
    "build-fuzz/bin/${t}_fuzzer" -max_total_time="$seconds" -timeout=10 \
    -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 \
    -artifact_prefix="$crashes/" "$corpus" >"$log" 2>&1 || status=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rss=$(sed -n 's/^stat::peak_rss_mb: *//p' "$log" | tail -1)
  found=$(find "$crashes" -type f | wc -l)
  if [[ $status -ne 0 || $found -gt 0 ]]; then crashed=$((crashed + 1)); fi
  line="{\"target\": \"$t\", \"seconds\": $seconds, \"runs\": ${runs:-0}, \"peak_rss_mb\": ${rss:-0}, \"corpus\": $(find "$corpus" -type f | wc -l), \"exit\": $status, \"crash_files\": $found}"
  echo "$line"
  summary+="${summary:+, }\"$t\": $line"
  if [[ $status -ne 0 ]]; then
    echo "--- $t: see $log; its last lines:" >&2
    tail -30 "$log" >&2
  fi
done
echo "{\"fuzz\": {$summary}, \"targets_crashed\": $crashed}"
[[ $crashed -eq 0 ]]
