#!/usr/bin/env bash
# Where the device time of the learner update goes, for the ONI-sized
# NetHack network at B=1024, T=32, bf16 (the point where Lantern and
# torch.compile are closest): PyTorch eager and compiled under
# torch.profiler (ops by device time), Lantern eager and graphed under
# LibTorch's (kernels and copies by device time; bench_learner_update
# --profile).
#
#   scripts/bench_gpu.sh --profile [--out DIR]   (builds, then runs this)
#   scripts/profile_gpu.sh BENCH OUT_DIR PYTHON
#
# Writes OUT_DIR/gpu_profile.md; each run's stderr goes to
# OUT_DIR/gpu_profile.stderr.log.
set -uo pipefail
[[ $# -eq 3 ]] || { echo "usage: scripts/profile_gpu.sh BENCH OUT_DIR PYTHON" >&2; exit 2; }
bench="$1"
out="$2"
python="$3"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
report="$out/gpu_profile.md"
errors="$out/gpu_profile.stderr.log"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
: >"$errors"
shape=(--device cuda --data device --net nethack --batch 1024 --bf16 --seconds 1)
device="$("$python" -c 'import torch; print(torch.cuda.get_device_name(0))')"
{
  echo "# Learner update profile: NetHack network, B=1024, T=32, bf16"
  echo
  echo "On $device, $(date -u +%Y-%m-%d). Written by scripts/bench_gpu.sh --profile."
} >"$report"

# section TITLE FILE: FILE's first lines as a section of the report.
section() {
  {
    echo
    echo "## $1"
    echo
    echo '```'
    head -n 45 "$2"
    echo '```'
  } >>"$report"
}

for variant in eager compile; do
  flags=()
  [[ $variant == compile ]] && flags=(--compile)
  echo "== pytorch $variant under torch.profiler" >&2
  if timeout 240 "$python" "$root/bench/learner_update.py" "${shape[@]}" \
    "${flags[@]}" --profile "$work/pytorch_$variant.txt" 2>>"$errors" | tail -n 1 >&2; then
    section "PyTorch $variant (torch.profiler, 5 updates)" "$work/pytorch_$variant.txt"
  else
    echo "pytorch $variant failed (see $errors)" >&2
  fi
done

for variant in eager graph; do
  flags=()
  [[ $variant == graph ]] && flags=(--graph)
  echo "== lantern $variant under LibTorch's profiler" >&2
  if timeout 240 "$bench" "${shape[@]}" "${flags[@]}" \
    --profile "$work/lantern_$variant.txt" 2>>"$errors" | tail -n 1 >&2; then
    section "Lantern $variant (Kineto, 5 updates: device events by total time)" \
      "$work/lantern_$variant.txt"
  else
    echo "lantern $variant failed (see $errors)" >&2
  fi
done
echo "profile_gpu.sh: wrote $report" >&2
