#!/usr/bin/env bash
# Runs every benchmark with short settings and writes bench/results/latest.json
# and bench/results/latest.md (scripts/bench_report.py); each benchmark's full
# output goes to bench/results/logs/NAME.log. `scripts/bench.sh all` runs this.
#
#   scripts/bench_all.sh [PREVIOUS.json]   PREVIOUS: an earlier latest.json;
#                                          the change of each figure is printed
#
# A benchmark that fails (or whose tool is missing, like llama-server before
# scripts/llm_server.sh build) is recorded with its error; the others still run.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
previous="${1:-}"
if [[ -n "$previous" && ! -f "$previous" ]]; then
  echo "bench_all.sh: no such results file: $previous" >&2
  exit 2
fi

# name and the arguments that keep it short.
benchmarks=(
  "env_grid --seconds 2"
  "env_nethack --steps 100000"
  "actor_pipeline --seconds 2 --rounds 3"
  "ingest --seconds 3"
  "learner_update --seconds 3"
  "learner_update_python --rounds 5"
  "reward_scoring --seconds 3"
  "llm_client --captions 24"
  "reward_down --steps 200000 --rounds 1"
)

"$root/scripts/deps.sh" >&2
if [[ ! -f build/build.ninja ]]; then
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
targets=()
for entry in "${benchmarks[@]}"; do targets+=("bench_${entry%% *}"); done
cmake --build build --target "${targets[@]}" >&2

mkdir -p bench/results/logs
raw=bench/results/logs/raw.jsonl
: >"$raw"
started=$(date +%s)
for entry in "${benchmarks[@]}"; do
  read -r -a words <<<"$entry"
  name="${words[0]}"
  log="bench/results/logs/$name.log"
  echo "== $entry" >&2
  t0=$(date +%s)
  status=0
  "build/bin/bench_$name" "${words[@]:1}" >"$log" 2>&1 || status=$?
  seconds=$(($(date +%s) - t0))
  last=$(tail -n 1 "$log")
  /usr/bin/python3 - "$name" "$status" "$seconds" "$last" "$entry" >>"$raw" <<'PY'
import json, sys
name, status, seconds, last, entry = sys.argv[1:]
try:
    result = json.loads(last) if status == "0" else None
except ValueError:
    result = None
if not isinstance(result, dict):
    result = {"error": f"exit status {status}; last line: {last[:200]}"}
result.update({"bench": name, "command": entry, "wall_s": int(seconds)})
print(json.dumps(result))
PY
  tail -n 1 "$raw" >&2
done
echo "all benchmarks: $(($(date +%s) - started)) s" >&2
/usr/bin/python3 scripts/bench_report.py "$raw" bench/results ${previous:+--previous "$previous"}
