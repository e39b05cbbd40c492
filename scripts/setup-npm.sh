#!/usr/bin/env bash
# Installs the npm peers of the test suites (tests/npm/package.json) into tests/npm/node_modules.
# Idempotent and fast: when every dependency is installed and package.json did not change since,
# it returns at once without touching the network.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
dir=$top/tests/npm
stamp=$dir/node_modules/.ac-installed

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "setup-npm: node and npm are missing (scripts/setup.sh installs them)" >&2
  exit 1
fi
if [ -f "$stamp" ] && [ "$stamp" -nt "$dir/package.json" ]; then
  ok=1
  for dep in $(node -e 'console.log(Object.keys(require(process.argv[1]).dependencies).join(" "))' "$dir/package.json"); do
    [ -f "$dir/node_modules/$dep/package.json" ] || { ok=0; break; }
  done
  [ $ok = 1 ] && exit 0
fi
# one process at a time (parallel test runs share the folder)
exec 9>"${TMPDIR:-/tmp}/ac-setup-npm.lock"
flock 9
if [ -f "$stamp" ] && [ "$stamp" -nt "$dir/package.json" ]; then
  exit 0
fi
echo "setup-npm: installing the npm peers into $dir/node_modules" >&2
(cd "$dir" && npm install --no-audit --no-fund --loglevel=error >&2)
touch "$stamp"
