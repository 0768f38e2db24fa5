#!/bin/sh
# The lean matcher (bench/lean_book.c), a yardstick for the batch rate, against the
# engine built in $ZC_BUILD_DIR (default build/):
#   bench/lean_book.sh [N [MODE]]
set -e
tool=lean_book
. "$(dirname "$0")/tool_env.sh"
cc -O3 -std=c11 -D_GNU_SOURCE -Wall -Wextra -I"$root/csrc/include" -I"$root/bench" "$root/bench/lean_book.c" \
    "$build/lib/libzkclob.a" -o "$tmp/lean_book" $private
"$tmp/lean_book" "$@"
