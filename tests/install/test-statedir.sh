#!/usr/bin/env bash
# The state directory is /var/lib/aleph-confidential whatever the prefix (the unit's
# StateDirectory=, the hook's and the service's default state-dir=), not $prefix/var/lib/...;
# only -Dstatedir= moves it, and the unit then gives write access to that directory instead.
# Configures (never compiles) scratch builds of the source tree.
#   test-statedir.sh SOURCEDIR
set -euo pipefail
src=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
expect() { # FILE PATTERN WHAT
  if grep -qE -- "$2" "$1"; then echo "ok - $3"; else echo "not ok - $3: no '$2' in $1"; fail=1; fi
}
refuse() { # FILE PATTERN WHAT
  if grep -qE -- "$2" "$1"; then echo "not ok - $3: '$2' in $1"; fail=1; else echo "ok - $3"; fi
}
setup() { # DIR ARGS...
  local dir=$1; shift
  if ! meson setup "$dir" "$src" -Dtests=false "$@" >"$dir.log" 2>&1; then
    echo "not ok - meson setup $*"; sed 's/^/# /' "$dir.log"; exit 1
  fi
}

for prefix in /usr /usr/local /opt/aleph; do
  b=$tmp/b${prefix//\//_}
  setup "$b" --prefix "$prefix"
  expect "$b/config.h" '^#define AC_STATEDIR "/var/lib/aleph-confidential"$' "prefix $prefix: AC_STATEDIR"
  expect "$b/docs/virt-alephd.service" '^StateDirectory=aleph-confidential$' "prefix $prefix: unit StateDirectory="
  expect "$b/plugin/daemon/virt-alephd.conf.example" '^#state-dir=/var/lib/aleph-confidential$' \
    "prefix $prefix: virt-alephd.conf.example"
  expect "$b/hooks/aleph-confidential.conf.example" '^#state-dir=/var/lib/aleph-confidential$' \
    "prefix $prefix: hook aleph-confidential.conf.example"
done

b=$tmp/explicit
setup "$b" --prefix /usr/local -Dstatedir=/srv/aleph-state
expect "$b/config.h" '^#define AC_STATEDIR "/srv/aleph-state"$' "-Dstatedir: AC_STATEDIR"
expect "$b/docs/virt-alephd.service" '^ReadWritePaths=/srv/aleph-state$' "-Dstatedir: unit ReadWritePaths="
refuse "$b/docs/virt-alephd.service" '^StateDirectory=' "-Dstatedir: no StateDirectory= elsewhere"

b=$tmp/relative
if meson setup "$b" "$src" -Dtests=false -Dstatedir=var/state >"$b.log" 2>&1; then
  echo "not ok - -Dstatedir=var/state (relative) accepted"; fail=1
elif grep -q "statedir must be an absolute path, not 'var/state'" "$b.log"; then
  echo "ok - a relative -Dstatedir is refused, naming it"
else
  echo "not ok - a relative -Dstatedir refused without saying why:"; sed 's/^/# /' "$b.log"; fail=1
fi
exit $fail
