#!/usr/bin/env bash
# Fuzz one target (or all) with libFuzzer for a while: scripts/fuzz.sh [TARGET] [SECONDS]
# New crashes land in tests/fuzz/crashes/; interesting inputs in the target's corpus.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
target=${1:-all}
secs=${2:-120}
bdir=$top/build-fuzz
if [ ! -f "$bdir/build.ninja" ]; then
  CC=clang meson setup "$bdir" "$top" -Dfuzzing=true -Db_lundef=false >/dev/null
fi
ninja -C "$bdir" >/dev/null
mkdir -p "$top/tests/fuzz/crashes"
for exe in "$bdir"/tests/fuzz/fuzz-*; do
  name=${exe##*/fuzz-}
  [ "$target" = all ] || [ "$target" = "$name" ] || continue
  echo "fuzzing $name for ${secs}s" >&2
  mkdir -p "/tmp/ac-fuzz-$name"
  "$exe" -max_total_time="$secs" -artifact_prefix="$top/tests/fuzz/crashes/$name-" \
    "/tmp/ac-fuzz-$name" "$top/tests/fuzz/corpus/$name" 2>&1 | tail -3
done
