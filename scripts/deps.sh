#!/usr/bin/env bash
# Installs the Debian 12 packages Lantern needs, if any are missing.
# Idempotent and quiet when everything is there.
set -euo pipefail

packages=(
  cmake ninja-build g++ pkg-config
  libtorch-dev libopenblas0-openmp
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  libspdlog-dev libyaml-cpp-dev libcli11-dev nlohmann-json3-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libsqlite3-dev libcurl4-openssl-dev libcpp-httplib-dev libre2-dev
  nethack-console libvterm-dev
  python3-numpy python3-yaml python3-matplotlib python3-crcmod asciinema
  python3-grpcio python3-protobuf
  python3-torch docker-compose shellcheck
  git curl openssl
)

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

echo "installing: ${missing[*]}" >&2
sudo=""
[[ $(id -u) -eq 0 ]] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
