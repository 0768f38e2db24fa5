# Sourced by the bench/*.sh tools that link a program against the built
# static library, after setting `tool` to their name: sets root, build (from
# $ZC_BUILD_DIR, default build/), private (the library's link flags) and tmp
# (a folder removed on exit).
root=$(cd "$(dirname "$0")/.." && pwd)
build=${ZC_BUILD_DIR:-$root/build}
if [ ! -f "$build/lib/libzkclob.a" ] || [ ! -f "$build/zkclob.pc" ]; then
    echo "$tool: no library in $build: build first (make build)" >&2
    exit 2
fi
private=$(sed -n 's/^Libs.private: //p' "$build/zkclob.pc")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
