#!/usr/bin/env bash
# The demo's first steps on a fresh machine: DIR never existed (not even its parent), and the
# harness's 'stop' of a missing DIR succeeds without creating it. Needs root (exit 77 otherwise).
#   test_demo.sh SRCDIR BUILDDIR
set -uo pipefail
src=${1:?SRCDIR missing}
builddir=${2:?BUILDDIR missing}
if [ "$(id -u)" != 0 ]; then
  echo "SKIP: needs root"
  exit 77
fi
base=$(mktemp -d /tmp/acdemo.XXXXXX)
trap 'rm -rf --one-file-system "$base"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# stop on a DIR that does not exist: a no-op success, and no directory appears
bash "$src/tests/integration/libvirtd.sh" stop "$base/missing/dir" || fail "libvirtd.sh stop on a missing DIR failed"
[ ! -e "$base/missing" ] || fail "libvirtd.sh stop created $base/missing"

dir="$base/never/demo"
[ ! -e "$base/never" ] || fail "test setup: $base/never exists"
if ! BUILDDIR="$builddir" timeout 300 bash "$src/scripts/demo.sh" --first-steps "$dir"; then
  fail "scripts/demo.sh --first-steps $dir failed"
fi
[ -e "$dir/.aleph-demo" ] || fail "demo did not mark $dir as its own"
# a second run reuses its own (marked) directory
if ! BUILDDIR="$builddir" timeout 300 bash "$src/scripts/demo.sh" --first-steps "$dir" >/dev/null; then
  fail "scripts/demo.sh --first-steps on its own previous DIR failed"
fi
echo "OK"
