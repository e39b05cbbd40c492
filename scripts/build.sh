#!/usr/bin/env bash
# Configure (once) and build into $BUILDDIR (default: build). Strict warnings are errors in CI.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
builddir=${BUILDDIR:-$top/build}
werror=false
[ "${CI:-}" = true ] && werror=true
if [ ! -f "$builddir/build.ninja" ]; then
  meson setup "$builddir" "$top" -Dwerror=$werror >/dev/null
fi
ninja -C "$builddir" >/dev/null
