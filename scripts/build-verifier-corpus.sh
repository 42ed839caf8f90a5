#!/usr/bin/env bash
# Rebuild the verifier corpus's objects (test/fixtures/verifier/*.bpf.o, one a family) from
# their sources. The objects are committed so that tests need no compiler; after a rebuild,
# re-record the kernel's answers as root: node scripts/record-verifier-corpus.mjs.
# Needs clang with the BPF target and the libbpf headers. Called by scripts/build-bpf.sh.
# Usage: scripts/build-verifier-corpus.sh [source.bpf.c ...]   (default: all of them)
set -euo pipefail

cd "$(dirname "$0")/.."
CLANG=${CLANG:-clang}
DIR=test/fixtures/verifier
# Many programs are wrong on purpose (unused results, odd casts): warnings are not errors here.
# -fdebug-prefix-map keeps the build directory out of the DWARF (and so out of the verifier's
# log, whose source lines name the file), so rebuilds are byte-identical wherever the
# repository lives.
CFLAGS=(-O2 -g -target bpf -mcpu=v3 -Wall -Wno-unused-variable -Wno-unused-function
  -fdebug-prefix-map="$PWD/$DIR"=. -fdebug-prefix-map="$PWD"=.)
MULTIARCH=$(gcc -print-multiarch 2>/dev/null || echo "$(uname -m)-linux-gnu")
[[ -d /usr/include/$MULTIARCH ]] && CFLAGS+=(-I"/usr/include/$MULTIARCH")

if (($# == 0)); then
  set -- "$DIR"/*.bpf.c
fi
for src in "$@"; do
  obj=${src%.c}.o
  echo "  CLANG $obj"
  (cd "$DIR" && "$CLANG" "${CFLAGS[@]}" -c "$(basename "$src")" -o "$(basename "$obj")")
done
