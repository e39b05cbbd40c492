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
# every target runs, even after one finds a crash; the status says whether any did
failed=()
ran=0
for exe in "$bdir"/tests/fuzz/fuzz-*; do
  # meson's object folders (fuzz-NAME.p/) sit beside the executables
  [ -f "$exe" ] && [ -x "$exe" ] || continue
  name=${exe##*/fuzz-}
  [ "$target" = all ] || [ "$target" = "$name" ] || continue
  ran=$((ran + 1))
  echo "fuzzing $name for ${secs}s" >&2
  mkdir -p "/tmp/ac-fuzz-$name"
  if ! "$exe" -max_total_time="$secs" -artifact_prefix="$top/tests/fuzz/crashes/$name-" \
    "/tmp/ac-fuzz-$name" "$top/tests/fuzz/corpus/$name" > "/tmp/ac-fuzz-$name.log" 2>&1; then
    failed+=("$name")
  fi
  tail -3 "/tmp/ac-fuzz-$name.log"
done
if [ "$ran" -eq 0 ]; then
  echo "fuzz.sh: no fuzz target named '$target' in $bdir/tests/fuzz" >&2
  exit 2
fi
if [ "${#failed[@]}" -gt 0 ]; then
  echo "fuzz.sh: ${#failed[@]} of $ran targets failed: ${failed[*]} (see tests/fuzz/crashes/)" >&2
  exit 1
fi
echo "fuzz.sh: $ran targets ran" >&2
