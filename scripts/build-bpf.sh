#!/usr/bin/env bash
# Rebuild the committed BPF objects (*.bpf.o) from their sources: C (*.bpf.c) or BPF
# assembly (*.bpf.s, for test objects C cannot express).
#
# The objects are committed so that tests and users need no compiler; run this after editing
# a *.bpf.c file. Needs clang with the BPF target and the libbpf headers (<bpf/bpf_helpers.h>).
# Usage: scripts/build-bpf.sh [dir-or-source ...]   (default: test/fixtures/bpf, test/fixtures/large, bench/programs, examples,
# topologies, and the verifier corpus in test/fixtures/verifier, which scripts/build-verifier-corpus.sh builds;
# src/firewall: the rules program `xdplab firewall` runs)
set -euo pipefail

cd "$(dirname "$0")/.."
CLANG=${CLANG:-clang}
# -fdebug-prefix-map keeps the build directory out of the DWARF, so rebuilds are byte-identical
# wherever the repository lives.
CFLAGS=(-O2 -g -target bpf -mcpu=v3 -Wall -Werror -fdebug-prefix-map="$PWD"=.)
# <linux/types.h> includes <asm/types.h>, which Debian/Ubuntu keep under the multiarch dir.
MULTIARCH=$(gcc -print-multiarch 2>/dev/null || echo "$(uname -m)-linux-gnu")
[[ -d /usr/include/$MULTIARCH ]] && CFLAGS+=(-I"/usr/include/$MULTIARCH")

if (($# == 0)); then
  set -- test/fixtures/bpf test/fixtures/large bench/programs examples topologies test/fixtures/verifier src/firewall
fi

sources=()
corpus=()
for arg in "$@"; do
  if [[ ${arg%/} == test/fixtures/verifier ]]; then
    corpus+=(test/fixtures/verifier/*.bpf.c)
  elif [[ $arg == test/fixtures/verifier/* ]]; then
    corpus+=("$arg")
  elif [[ -d $arg ]]; then
    while IFS= read -r -d '' f; do sources+=("$f"); done < <(find "$arg" \( -name '*.bpf.c' -o -name '*.bpf.s' \) -print0 | sort -z)
  elif [[ -f $arg ]]; then
    sources+=("$arg")
  fi
done

for src in "${sources[@]}"; do
  obj=${src%.[cs]}.o
  echo "  CLANG $obj"
  if [[ $src == *.s ]]; then
    "$CLANG" -target bpf -c "$src" -o "$obj"
  else
    "$CLANG" "${CFLAGS[@]}" -c "$src" -o "$obj"
  fi
  # The expected output of test/elf/objdump.test.ts: LLVM 14's disassembly of the object.
  if [[ $obj == test/fixtures/bpf/* ]] && llvm-objdump --version 2>/dev/null | grep -q 'LLVM version 14\.'; then
    llvm-objdump -d --no-show-raw-insn "$obj" >"${obj%.o}.objdump.txt"
  fi
done

# The verifier corpus: its own flags (programs wrong on purpose), no objdump listings.
if ((${#corpus[@]} > 0)); then
  scripts/build-verifier-corpus.sh "${corpus[@]}"
fi
