#!/usr/bin/env bash
# The learning benchmark: what ONI's intrinsic reward buys on the sparse grid
# task (configs/learning_sparse.yaml), honestly, against extrinsic reward only.
#
#   scripts/learning_bench.sh [--seeds N] [--steps BUDGET] [--variants A,B,..]
#                             [--llm URL] [--out DIR] [--work DIR]
#                             [--config FILE]
#
# Trains every variant (reward.model_kind: none = extrinsic reward only,
# retrieval, classification, ranking) with seeds 1..N (default 3) to the same
# env-step budget (run.max_env_steps; default 6,000,000, rounded up to whole
# learner batches), one run at a time, with the same settings except the
# reward model. The annotator is the config's (the embedding annotator:
# GloVe word vectors, no LLM); --llm URL labels the captions with the
# OpenAI-compatible server at URL instead (annotator.kind=llm).
#
# Writes DIR/learning.md (success rate and return at the budget, mean ±
# spread over seeds, steps to 50 % success) and DIR/learning.png (success
# rate against env steps), DIR defaulting to bench/results; the runs go to
# --work (default ${TMPDIR:-/tmp}/lantern-learning-bench, one directory and
# one log per run, replaced on the next benchmark). Progress goes to stderr;
# the last stdout line is one JSON object with the per-variant figures.
# Exits 1 when a run failed or missed the budget (the report still lists
# it), 2 on a usage error. About 35 minutes for the default 4 variants x 3
# seeds on a 2-core machine.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
caller="$PWD"
cd "$root"

# Paths given on the command line are relative to where it was typed.
absolute() { if [[ "$1" == /* ]]; then echo "$1"; else echo "$caller/$1"; fi; }

seeds=3
steps=6000000
variants="none,retrieval,classification,ranking"
llm=""
out="bench/results"
work=$(absolute "${TMPDIR:-/tmp}/lantern-learning-bench")
config="configs/learning_sparse.yaml"

usage() { sed -n '2,/^set -e/{/^#/p}' "$0" | sed 's/^# \{0,1\}//'; }
need() { [[ $# -ge 2 && -n "$2" ]] || { echo "learning_bench.sh: $1 needs a value" >&2; exit 2; }; }
while [[ $# -gt 0 ]]; do
  case "$1" in
    --seeds) need "$@"; seeds="$2"; shift 2 ;;
    --steps) need "$@"; steps="$2"; shift 2 ;;
    --variants) need "$@"; variants="$2"; shift 2 ;;
    --llm) need "$@"; llm="$2"; shift 2 ;;
    --out) need "$@"; out=$(absolute "$2"); shift 2 ;;
    --work) need "$@"; work=$(absolute "$2"); shift 2 ;;
    --config) need "$@"; config=$(absolute "$2"); shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "learning_bench.sh: unknown argument: $1" >&2; usage >&2; exit 2 ;;
  esac
done
[[ "$seeds" =~ ^[1-9][0-9]*$ ]] || { echo "learning_bench.sh: --seeds must be a positive integer" >&2; exit 2; }
[[ "$steps" =~ ^[1-9][0-9]*$ ]] || { echo "learning_bench.sh: --steps must be a positive integer" >&2; exit 2; }
IFS=, read -r -a variant_list <<<"$variants"
[[ ${#variant_list[@]} -gt 0 ]] || { echo "learning_bench.sh: --variants is empty" >&2; exit 2; }
for v in "${variant_list[@]}"; do
  case "$v" in
    none | retrieval | classification | ranking) ;;
    *) echo "learning_bench.sh: unknown variant '$v' (none, retrieval, classification, ranking)" >&2; exit 2 ;;
  esac
done
[[ -f "$config" ]] || { echo "learning_bench.sh: no config $config" >&2; exit 2; }

if [[ ! -x build/bin/lantern ]]; then
  "$root/scripts/build.sh" >&2
fi
# Every run uses the same binaries: a copy taken now (lantern run starts the
# roles from its own directory), so that a rebuild of build/ during the
# benchmark neither mixes versions within a run nor changes them between runs.
mkdir -p "$work/bin"
for b in lantern lantern-learner lantern-actor lantern-reward-server; do
  cp -p "build/bin/$b" "$work/bin/$b.tmp"
  mv -f "$work/bin/$b.tmp" "$work/bin/$b"
done
# The embedding annotator's word vectors (once per machine; quick when there).
uses_oni=0
for v in "${variant_list[@]}"; do [[ "$v" != none ]] && uses_oni=1; done
if [[ $uses_oni == 1 && -z "$llm" ]]; then
  "$root/scripts/fetch_embeddings.sh" >&2
fi

# The learner stops at the first whole batch at or past run.max_env_steps; a
# budget of whole batches makes that the budget itself, so every run's last
# metrics row is exactly at the budget.
batch_steps=$(/usr/bin/python3 - "$config" <<'EOF'
import sys, yaml
c = yaml.safe_load(open(sys.argv[1])) or {}
a, l = c.get("actor") or {}, c.get("learner") or {}
envs, unroll = a.get("num_envs", 16), a.get("unroll", 32)
print(max(1, l.get("batch_size", 32) // envs) * envs * unroll)
EOF
)
budget=$(( (steps + batch_steps - 1) / batch_steps * batch_steps ))

annotator_sets=()
if [[ -n "$llm" ]]; then
  annotator_sets=(--set annotator.kind=llm --set "annotator.url=$llm")
fi

mkdir -p "$out"
current=""
on_signal() {
  # Stop our own run cleanly (lantern run shuts its roles down on SIGINT).
  if [[ -n "$current" ]]; then
    kill -INT "$current" 2>/dev/null || true
    wait "$current" 2>/dev/null || true
  fi
  echo "learning_bench.sh: interrupted" >&2
  exit 130
}
trap on_signal INT TERM

total=$(( ${#variant_list[@]} * seeds ))
echo "learning_bench.sh: $total runs of $budget env steps each ($config), runs in $work" >&2
started=$(date +%s)
specs=()
failed=0
i=0
for variant in "${variant_list[@]}"; do
  for ((seed = 1; seed <= seeds; seed++)); do
    i=$((i + 1))
    name="learning-$variant-s$seed"
    rm -rf "${work:?}/$name"
    run_start=$(date +%s)
    # In its own session, so that a Ctrl-C reaches it once, from on_signal
    # (a second SIGINT makes lantern run exit at once).
    setsid "$work/bin/lantern" run "$config" \
      --set "run.name=$name" --set "run.dir=$work" --set "run.seed=$seed" \
      --set "run.max_env_steps=$budget" --set "reward.model_kind=$variant" \
      "${annotator_sets[@]}" >"$work/$name.log" 2>&1 &
    current=$!
    rc=0
    wait "$current" || rc=$?
    current=""
    result=$(/usr/bin/python3 - "$work/$name/summary.json" <<'EOF'
import json, sys
try:
    s = json.load(open(sys.argv[1]))
    print(f"success {s['success_rate']:.2f} at {s['env_steps']:,} env steps "
          f"({s['stop_reason']})")
except (OSError, ValueError, KeyError):
    print("no summary.json")
EOF
)
    echo "[$i/$total] $name: $result, $(( $(date +%s) - run_start )) s, exit $rc (log: $work/$name.log)" >&2
    [[ $rc == 0 ]] || failed=1
    specs+=("$variant:$seed:$work/$name")
  done
done
wall=$(( $(date +%s) - started ))

command="scripts/learning_bench.sh --seeds $seeds --steps $steps --variants $variants"
[[ -n "$llm" ]] && command+=" --llm $llm"
report_rc=0
/usr/bin/python3 scripts/learning_report.py --budget "$budget" --out "$out" \
  --wall-s "$wall" --command "$command" \
  "${specs[@]}" >"$work/report.out" || report_rc=$?
if [[ $report_rc != 0 ]]; then
  cat "$work/report.out" >&2
  exit "$report_rc"
fi
head -n -1 "$work/report.out" >&2  # the paths written
# A run that missed the budget also fails the benchmark.
if ! tail -n 1 "$work/report.out" | /usr/bin/python3 -c \
    'import json, sys; sys.exit(0 if all(r["ok"] for r in json.load(sys.stdin)["runs"]) else 1)'; then
  failed=1
fi
tail -n 1 "$work/report.out"
exit $failed
