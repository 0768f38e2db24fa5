#!/bin/sh
# In-process A/B of the order matcher against an earlier revision
# (bench/ab_book.c):
#   bench/ab_book.sh REV [N [MODE [CHUNK]]]
# REV's csrc/book/engine.c (with REV's kernels/) is compiled with its public
# functions renamed old_* and linked into one program with the static library
# in $ZC_BUILD_DIR (default build/), built from the working tree. REV's engine
# must call the same internal interfaces as the working tree's other modules.
# Exit status 1 when the two builds' events differ.
set -e
rev=${1:?usage: bench/ab_book.sh REV [N [MODE [CHUNK]]]}
shift
tool=ab_book
. "$(dirname "$0")/tool_env.sh"
if ! git -C "$root" rev-parse -q --verify "$rev^{commit}" >/dev/null; then
    echo "ab_book: $rev is not a revision of $root" >&2
    exit 2
fi
git -C "$root" archive "$rev" csrc kernels | tar -x -C "$tmp"
cc -O3 -DNDEBUG -std=c11 -D_GNU_SOURCE -I"$tmp/csrc/include" -I"$tmp/csrc/book" \
    -c "$tmp/csrc/book/engine.c" -o "$tmp/old.o"
nm --defined-only -g "$tmp/old.o" | awk '{print $3, "old_" $3}' >"$tmp/rename"
objcopy --redefine-syms="$tmp/rename" "$tmp/old.o"
cc -O2 -std=c11 -D_GNU_SOURCE -I"$root/csrc/include" -I"$root/bench" "$root/bench/ab_book.c" "$tmp/old.o" \
    "$build/lib/libzkclob.a" -o "$tmp/ab_book" $private
"$tmp/ab_book" "$@"
