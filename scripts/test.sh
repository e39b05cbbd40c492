#!/usr/bin/env bash
# Installs what the tests need, builds, runs every test suite, and ends with one line
# "N passed, M failed" counted from meson's test log. The 'slow' suite (a Debian image built,
# encrypted and booted under TCG; virt-alephd's load test: 20 flows at once against 5 one after
# the other, 1,000 domains reconciled, SIGTERM while flows wait in line; a fleet of two hosts:
# about 15 + 6 + 5 minutes) runs in CI (CI=true) or with --slow. The 'long' suite (the Debian example template built from
# the mirror: most of an hour) runs only with --long, which implies --slow.
#   scripts/test.sh [--slow|--no-slow|--long] [meson test args...]
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
builddir=${BUILDDIR:-$top/build}
slow=0
long=0
[ "${CI:-}" = true ] && slow=1
if [ "${1:-}" = "--no-slow" ]; then slow=0; shift; fi
if [ "${1:-}" = "--slow" ]; then slow=1; shift; fi
if [ "${1:-}" = "--long" ]; then slow=1; long=1; shift; fi

bash "$top/scripts/setup.sh" || { echo "setup failed"; echo "0 passed, 1 failed"; exit 1; }
if [ -x "$top/scripts/setup-npm.sh" ]; then
  bash "$top/scripts/setup-npm.sh" || { echo "npm setup failed"; echo "0 passed, 1 failed"; exit 1; }
fi
if ! BUILDDIR="$builddir" bash "$top/scripts/build.sh"; then
  ninja -C "$builddir" 2>&1 | tail -40
  echo "build failed"
  echo "0 passed, 1 failed"
  exit 1
fi

args=(--print-errorlogs --num-processes 2)
if [ "$slow" = 0 ]; then
  args+=(--no-suite slow)
fi
if [ "$long" = 0 ]; then
  args+=(--no-suite long)
fi
meson test -C "$builddir" "${args[@]}" "$@"
rc=$?

log="$builddir/meson-logs/testlog.json"
if [ -f "$log" ]; then
  /usr/bin/python3 - "$log" <<'PY'
import json, sys
passed = failed = skipped = 0
for line in open(sys.argv[1]):
    line = line.strip()
    if not line:
        continue
    r = json.loads(line).get("result")
    if r in ("OK", "EXPECTEDFAIL"):
        passed += 1
    elif r == "SKIP":
        skipped += 1
    else:
        failed += 1
print(f"{passed} passed, {failed} failed" + (f", {skipped} skipped" if skipped else ""))
PY
else
  echo "0 passed, 1 failed"
  rc=1
fi
exit $rc
