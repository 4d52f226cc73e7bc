#!/usr/bin/env bash
# The learner update on a GPU: Lantern (C++, LibTorch) against PyTorch, on the
# same card in one run. Builds the learner's numerical core (no gRPC needed)
# against the LibTorch inside the machine's PyTorch, then times, for the
# quickstart-sized grid network and an ONI-sized NetHack one, at B=32 and
# B=1024 (T=32), with bf16 autocast off and on:
#   pytorch        bench/learner_update.py (eager, idiomatic)
#   lantern_eager  bench_learner_update without CUDA graph
#   lantern        bench_learner_update --graph (the whole update replayed)
# and PyTorch with torch.compile for the NetHack network at B=1024 and B=32
# with bf16. Batches start on the GPU (--data device): the update is timed,
# not the host-to-device copy. Checks first that the graphed update gives
# the eager one's losses (--verify).
#
#   scripts/bench_gpu.sh [--seconds S] [--out DIR] [--profile]
#
# --profile instead shows where the device time of the NetHack update at
# B=1024 in bf16 goes: PyTorch eager and compiled under torch.profiler, and
# Lantern eager and graphed under LibTorch's profiler (kernels by device time),
# written to DIR/gpu_profile.md (about 2 minutes).
#
# Writes DIR/gpu.jsonl (every run's JSON line) and DIR/gpu.md (the table and
# the ratios; default DIR: bench/results) and prints the summary JSON last.
# Needs python3 with a CUDA PyTorch 2, CMake, ninja and nvcc (CUDA_HOME, else
# /usr/local/cuda). About 5 minutes on an H100.
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root" || exit 1
seconds=2
out=bench/results
profile=0
usage() {
  echo "usage: scripts/bench_gpu.sh [--seconds S] [--out DIR] [--profile]" >&2
  exit 2
}
while [[ $# -gt 0 ]]; do
  if [[ "$1" == --profile ]]; then
    profile=1
    shift
    continue
  fi
  [[ $# -ge 2 ]] || usage
  case "$1" in
    --seconds) seconds="$2" ;;
    --out) out="$2" ;;
    *) usage ;;
  esac
  shift 2
done
python="${PYTHON:-python3}"
export CUDA_HOME="${CUDA_HOME:-/usr/local/cuda}"
export PATH="$CUDA_HOME/bin:$PATH"
if ! "$python" -c 'import torch, sys; sys.exit(not torch.cuda.is_available())'; then
  echo "bench_gpu.sh: $python has no PyTorch that sees a GPU" >&2
  exit 1
fi
arch="$("$python" -c 'import torch; print("%d.%d" % torch.cuda.get_device_capability())')"
export TORCH_CUDA_ARCH_LIST="${TORCH_CUDA_ARCH_LIST:-$arch}"
prefix="$("$python" -c 'import torch; print(torch.utils.cmake_prefix_path)')"

build="build-gpu"
mkdir -p "$build"
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DLANTERN_CORE_ONLY=ON -DCMAKE_PREFIX_PATH="$prefix" >"$build/cmake.log" 2>&1 ||
  { cat "$build/cmake.log" >&2; exit 1; }
cmake --build "$build" --target bench_learner_update >&2 || exit 1
bench="$build/bin/bench_learner_update"

mkdir -p "$out"
if [[ $profile -eq 1 ]]; then
  exec "$root/scripts/profile_gpu.sh" "$bench" "$out" "$python"
fi
raw="$out/gpu.jsonl"
: >"$raw"
errors="$out/gpu.stderr.log"
: >"$errors"
# run LABEL COMMAND...: appends the command's last stdout line (its JSON)
# with the label, or an error record; stderr goes to gpu.stderr.log.
run() {
  local label="$1"
  shift
  echo "== $label: $*" | tee -a "$errors" >&2
  local output
  output="$(timeout 300 "$@" 2>>"$errors")"
  local rc=$?
  local last
  last="$(printf '%s\n' "$output" | tail -n 1)"
  printf '%s\n' "$output" | tail -n 4 >&2
  if [[ $rc -eq 0 && "$last" == "{"* ]]; then
    printf '{"label":"%s","result":%s}\n' "$label" "$last" >>"$raw"
  else
    tail -n 30 "$errors" >&2
    printf '{"label":"%s","error":"exit %d"}\n' "$label" "$rc" >>"$raw"
  fi
}

common=(--device cuda --data device --seconds "$seconds")
started=$SECONDS
# series NET: the three implementations at both batch sizes and precisions.
series() {
  local net="$1" batch prec flag tag
  for batch in 32 1024; do
    for prec in fp32 bf16; do
      flag=()
      [[ "$prec" == bf16 ]] && flag=(--bf16)
      tag="$net/B$batch/$prec"
      run "pytorch $tag" "$python" bench/learner_update.py "${common[@]}" \
        --net "$net" --batch "$batch" "${flag[@]}"
      run "lantern $tag" "$bench" "${common[@]}" --net "$net" \
        --batch "$batch" --graph "${flag[@]}"
      run "lantern_eager $tag" "$bench" "${common[@]}" --net "$net" \
        --batch "$batch" "${flag[@]}"
    done
  done
}
compiled() {
  run "pytorch_compile nethack/B$1/bf16" "$python" bench/learner_update.py \
    "${common[@]}" --net nethack --batch "$1" --bf16 --compile
}
run "verify nethack/B32/fp32" "$bench" "${common[@]}" --net nethack \
  --batch 32 --graph --verify 6
run "verify nethack/B32/bf16" "$bench" "${common[@]}" --net nethack \
  --batch 32 --graph --bf16 --verify 6
series nethack
compiled 1024
series grid
compiled 32
echo "bench_gpu.sh: runs took $((SECONDS - started)) s" >&2
"$python" scripts/bench_gpu_report.py "$raw" "$out/gpu.md"
