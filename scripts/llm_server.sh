#!/usr/bin/env bash
# A real OpenAI-compatible LLM server for tests and benchmarks: llama.cpp's
# llama-server, built from the llama.cpp source that the npm package
# node-llama-cpp@3.21.1 ships, serving a random-weight GGUF with the exact
# shape of SmolLM2-135M and a real tokenizer (scripts/make_test_gguf.py).
# Its labels are noise: use it for protocol, latency and fault tests only.
#
#   scripts/llm_server.sh build             build llama-server (+ llama-quantize), once per machine
#   scripts/llm_server.sh model             make the random-weight Q8_0 GGUF, once per machine
#   scripts/llm_server.sh paths             build + model if needed, print server=... and model=...
#   scripts/llm_server.sh start [--port P]  start on 127.0.0.1:P (default 8089), print the base URL
#   scripts/llm_server.sh stop  [--port P]  stop the server that `start` started on P
#   scripts/llm_server.sh status [--port P] print the base URL if it is up, else exit 1
#
# Everything lives under ${LANTERN_CACHE:-$HOME/.cache/lantern}/llama/. The
# binary is built with -march=native: don't share that cache between CPUs.
# Environment: LANTERN_LLM_MODEL=/path.gguf makes `start` and `paths` serve
# that model instead (e.g. a real GGUF); LANTERN_LLM_START_TIMEOUT (s, 120);
# LANTERN_LLM_EXTRA_ARGS: more llama-server flags for `start` (last one wins).
# Starting the server yourself (from `paths`)? Set OMP_WAIT_POLICY=PASSIVE in
# its environment, as `start` does, or its latency collapses under CPU load.
set -euo pipefail

readonly NLC_VERSION=3.21.1
readonly LLAMA_COMMIT=80fb11ac73e66d89eae2c6a91d8a77428fa733ed   # llama.cpp "v0.4.0"
readonly MODEL_NAME=smollm2-135m-random-q8_0.gguf
readonly MODEL_SEED=1234
readonly DEFAULT_PORT=8089

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache_root=${LANTERN_CACHE:-$HOME/.cache/lantern}
cache=$cache_root/llama
bin_dir=$cache/bin
build_stamp=$bin_dir/.built
model_dir=$cache/models
model=$model_dir/$MODEL_NAME
python=/usr/bin/python3

cmake_flags=(
  -G Ninja -DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=OFF
  -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_APP=OFF
  -DLLAMA_BUILD_UI=OFF -DLLAMA_USE_PREBUILT_UI=OFF -DLLAMA_OPENSSL=OFF
  -DGGML_NATIVE=ON
)
build_targets=(llama-server llama-quantize)
# What the stamp records: a different version or flag set means rebuild.
build_id="node-llama-cpp@$NLC_VERSION $LLAMA_COMMIT ${cmake_flags[*]} ${build_targets[*]}"

die() { echo "llm_server.sh: error: $*" >&2; exit 1; }
note() { echo "llm_server.sh: $*" >&2; }

usage() {
  echo "usage:" >&2
  sed -n '/^#   scripts/p' "${BASH_SOURCE[0]}" | sed 's/^# *//' >&2
  exit 2
}

need_cmd() {  # need_cmd CMD DEBIAN_PACKAGE
  command -v "$1" >/dev/null 2>&1 || die "'$1' not found; install the Debian package '$2' (scripts/deps.sh)"
}

# Serialize build/model work between concurrent callers (e.g. parallel ctest).
# Held until this script exits. Its subshells ($(served_model) after a
# build) see lock_held and do not lock again: a second open of the file
# would wait forever on the lock their own parent holds.
take_lock() {
  [[ -n ${lock_held:-} ]] && return 0
  mkdir -p "$cache"
  exec 9>"$cache/.lock"
  flock 9
  lock_held=1
}

is_built() {
  [[ -x $bin_dir/llama-server && -x $bin_dir/llama-quantize && -f $build_stamp ]] &&
    [[ $(<"$build_stamp") == "$build_id" ]]
}

cmd_build() {
  is_built && return 0
  need_cmd npm npm
  need_cmd node nodejs
  need_cmd git git
  need_cmd cmake cmake
  need_cmd ninja ninja-build
  need_cmd c++ g++
  need_cmd flock util-linux
  take_lock
  is_built && return 0   # another caller finished it while we waited

  local log=$cache/build.log
  : >"$log"
  local tgz=$cache/npm/node-llama-cpp-$NLC_VERSION.tgz
  if [[ ! -f $tgz ]]; then
    mkdir -p "$cache/npm"
    local tmp
    tmp=$(mktemp -d "$cache/npm/pack.XXXXXX")
    (cd "$tmp" && npm pack "node-llama-cpp@$NLC_VERSION" --silent) >>"$log" 2>&1 || {
      rm -rf "$tmp"
      die "npm pack node-llama-cpp@$NLC_VERSION failed (needs the npm registry); see $log"
    }
    mv "$tmp/node-llama-cpp-$NLC_VERSION.tgz" "$tgz"
    rm -rf "$tmp"
  fi

  local src=$cache/src
  if [[ ! -f $src/.complete ]] || [[ $(git -C "$src" rev-parse HEAD 2>/dev/null) != "$LLAMA_COMMIT" ]]; then
    rm -rf "$src" "$src.tmp" "$cache/bundle"
    mkdir -p "$cache/bundle"
    tar -xzf "$tgz" -C "$cache/bundle" package/llama/gitRelease.bundle >>"$log" 2>&1 ||
      die "$tgz has no package/llama/gitRelease.bundle; see $log"
    git -c advice.detachedHead=false clone -q "$cache/bundle/package/llama/gitRelease.bundle" "$src.tmp" >>"$log" 2>&1 ||
      die "git clone of the llama.cpp bundle failed; see $log"
    [[ $(git -C "$src.tmp" rev-parse HEAD) == "$LLAMA_COMMIT" ]] ||
      die "the bundle in $tgz is not llama.cpp $LLAMA_COMMIT"
    rm -rf "$cache/bundle"
    touch "$src.tmp/.complete"
    mv "$src.tmp" "$src"
  fi

  note "building llama-server from node-llama-cpp@$NLC_VERSION (first time: ~25 min on 2 idle cores); log: $log"
  local t0=$SECONDS
  nice -n 10 cmake -S "$src" -B "$cache/build" "${cmake_flags[@]}" >>"$log" 2>&1 ||
    { tail -n 30 "$log" >&2; die "cmake configure failed; see $log"; }
  nice -n 10 cmake --build "$cache/build" -j2 --target "${build_targets[@]}" >>"$log" 2>&1 ||
    { tail -n 30 "$log" >&2; die "build failed; see $log"; }

  rm -f "$build_stamp"
  mkdir -p "$bin_dir"
  local t
  for t in "${build_targets[@]}"; do
    cp "$cache/build/bin/$t" "$bin_dir/$t.tmp"
    mv "$bin_dir/$t.tmp" "$bin_dir/$t"
  done
  echo "build seconds: $((SECONDS - t0))" >>"$log"
  printf '%s\n' "$build_id" >"$build_stamp"
}

cmd_model() {
  [[ -f $model ]] && return 0
  cmd_build
  [[ -x $python ]] || die "$python not found; install the Debian package 'python3'"
  "$python" -c 'import numpy' 2>/dev/null ||
    die "$python cannot import numpy; install the Debian package 'python3-numpy'"
  "$python" -c 'import yaml' 2>/dev/null ||
    die "$python cannot import yaml (gguf-py needs it); install the Debian package 'python3-yaml'"
  take_lock
  [[ -f $model ]] && return 0
  [[ -d $cache/src/gguf-py && -f $cache/src/models/ggml-vocab-starcoder.gguf ]] ||
    die "$cache/src (llama.cpp source) is missing; delete $build_stamp and run '$0 build'"

  local log=$cache/model.log
  mkdir -p "$model_dir"
  local f16=$model_dir/${MODEL_NAME%.gguf}.f16.tmp.gguf
  local q8=$model_dir/$MODEL_NAME.tmp
  rm -f "$f16" "$q8"
  nice -n 10 "$python" "$script_dir/make_test_gguf.py" --gguf-py "$cache/src/gguf-py" \
    --vocab "$cache/src/models/ggml-vocab-starcoder.gguf" \
    --template-vocab "$cache/src/models/ggml-vocab-qwen2.gguf" \
    --seed "$MODEL_SEED" --out "$f16" >"$log" 2>&1 ||
    { rm -f "$f16"; tail -n 20 "$log" >&2; die "make_test_gguf.py failed; see $log"; }
  nice -n 10 "$bin_dir/llama-quantize" "$f16" "$q8" Q8_0 2 >>"$log" 2>&1 ||
    { rm -f "$f16" "$q8"; tail -n 20 "$log" >&2; die "llama-quantize failed; see $log"; }
  rm -f "$f16"
  mv "$q8" "$model"
}

served_model() {
  if [[ -n ${LANTERN_LLM_MODEL:-} ]]; then
    [[ -f $LANTERN_LLM_MODEL ]] || die "LANTERN_LLM_MODEL=$LANTERN_LLM_MODEL does not exist"
    realpath "$LANTERN_LLM_MODEL"
  else
    cmd_model
    echo "$model"
  fi
}

cmd_paths() {
  cmd_build
  local m
  m=$(served_model)
  echo "server=$bin_dir/llama-server"
  echo "model=$m"
}

parse_port() {  # sets $port from [--port P]
  port=$DEFAULT_PORT
  while [[ $# -gt 0 ]]; do
    case $1 in
      --port) [[ $# -ge 2 ]] || die "--port needs a value"; port=$2; shift 2 ;;
      --port=*) port=${1#--port=}; shift ;;
      *) die "unknown argument '$1'" ;;
    esac
  done
  if ! [[ $port =~ ^[0-9]+$ ]] || ((port < 1 || port > 65535)); then
    die "bad port '$port'"
  fi
}

pid_file() { echo "$cache/server-$port.pid"; }

running_pid() {  # prints the pid of our live server on $port, if any
  local pf pid
  pf=$(pid_file)
  [[ -f $pf ]] || return 1
  pid=$(<"$pf")
  [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null &&
    [[ $(readlink "/proc/$pid/exe" 2>/dev/null) == "$bin_dir/llama-server"* ]] || return 1
  echo "$pid"
}

health_ok() {
  need_cmd curl curl
  curl -sf --max-time 2 "http://127.0.0.1:$port/health" 2>/dev/null | grep -q '"ok"'
}

cmd_start() {
  parse_port "$@"
  cmd_build
  local m pid
  m=$(served_model)
  if pid=$(running_pid); then
    health_ok || die "a server (pid $pid) is already running on port $port but is not healthy"
    echo "http://127.0.0.1:$port"
    return 0
  fi
  need_cmd curl curl
  if curl -s --max-time 2 -o /dev/null "http://127.0.0.1:$port/" 2>/dev/null; then
    die "port $port is already in use by another process"
  fi
  local log=$cache/server-$port.log
  mkdir -p "$cache"
  # 4 slots sharing one 2048-token KV cache (what -np auto does), no web UI.
  # OMP_WAIT_POLICY=PASSIVE: ggml's OpenMP barriers sleep instead of spinning.
  # Spinning is slightly faster on an idle machine, but as soon as anything
  # else wants a core (a compile, the actors) a 2-thread decode goes from
  # ~0.2 s to 2-10 s per answer; passive stays at ~0.3 s.
  # shellcheck disable=SC2086  # LANTERN_LLM_EXTRA_ARGS is a word list on purpose
  OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE} setsid "$bin_dir/llama-server" -m "$m" --host 127.0.0.1 --port "$port" --alias annot \
    -t 2 -c 2048 -np 4 --kv-unified --no-webui ${LANTERN_LLM_EXTRA_ARGS:-} >"$log" 2>&1 </dev/null &
  pid=$!
  echo "$pid" >"$(pid_file)"
  local deadline=$((SECONDS + ${LANTERN_LLM_START_TIMEOUT:-120}))
  until health_ok; do
    if ! kill -0 "$pid" 2>/dev/null; then
      rm -f "$(pid_file)"
      tail -n 20 "$log" >&2
      die "llama-server exited during start-up; see $log"
    fi
    if ((SECONDS >= deadline)); then
      kill "$pid" 2>/dev/null || true
      rm -f "$(pid_file)"
      tail -n 20 "$log" >&2
      die "llama-server not healthy after ${LANTERN_LLM_START_TIMEOUT:-120} s; see $log"
    fi
    sleep 0.2
  done
  echo "http://127.0.0.1:$port"
}

cmd_stop() {
  parse_port "$@"
  local pid
  if ! pid=$(running_pid); then
    rm -f "$(pid_file)"
    return 0
  fi
  kill "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + 5))
  while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$(pid_file)"
}

cmd_status() {
  parse_port "$@"
  running_pid >/dev/null && health_ok || exit 1
  echo "http://127.0.0.1:$port"
}

main() {
  [[ $# -ge 1 ]] || usage
  local sub=$1
  shift
  case $sub in
    build) [[ $# -eq 0 ]] || usage; cmd_build ;;
    model) [[ $# -eq 0 ]] || usage; cmd_model ;;
    paths) [[ $# -eq 0 ]] || usage; cmd_paths ;;
    start) cmd_start "$@" ;;
    stop) cmd_stop "$@" ;;
    status) cmd_status "$@" ;;
    -h|--help|help) usage ;;
    *) note "unknown subcommand '$sub'"; usage ;;
  esac
}

# One line, so that bash has read all of it before a long build starts: the
# script may be edited (git pull) while it runs.
main "$@"; exit
