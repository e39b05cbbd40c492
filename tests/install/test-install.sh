#!/usr/bin/env bash
# meson install into a scratch DESTDIR and check the installed tree: the hook where libvirt
# looks for it (executable, libc only), the module, binaries, schemas, man pages, the unit.
#   test-install.sh BUILDDIR PREFIX SYSCONFDIR LIBDIR HOOKDIR
set -euo pipefail
builddir=$1 prefix=$2 sysconfdir=$3 libdir=$4 hookdir=$5
dest=$(mktemp -d)
trap 'rm -rf "$dest"' EXIT
meson install -C "$builddir" --destdir "$dest" --no-rebuild --quiet >/dev/null

fail=0
check() {
  if [ "$1" "$dest$2" ]; then echo "ok - $2"; else echo "not ok - missing $2 ($1)"; fail=1; fi
}
check -x "$hookdir/50-aleph-confidential"
check -f "$prefix/$libdir/aleph-confidential/libaleph-confidential.so"
check -x "$prefix/bin/virt-aleph"
check -x "$prefix/sbin/virt-alephd"
check -f "$prefix/share/aleph-confidential/schemas/confidential.rng"
check -f "$prefix/share/aleph-confidential/schemas/confidential-status.rng"
check -f "$prefix/share/aleph-confidential/schemas/confidential-launch.rng"
check -f "$prefix/share/man/man1/virt-aleph.1"
check -f "$prefix/share/man/man8/virt-alephd.8"
check -f "$prefix/share/man/man1/aleph-devnet.1"
check -f "$prefix/share/bash-completion/completions/virt-aleph"
check -f "$prefix/share/zsh/site-functions/_virt-aleph"
check -f "$prefix/lib/systemd/system/virt-alephd.service"
check -f "$prefix/share/aleph-confidential/examples/confidential-domain.xml"
check -f "$prefix/share/doc/aleph-confidential/exit-codes.md"
# commented sample configurations beside the real ones (tests/cli/test_config_docs.py parses them)
check -f "$sysconfdir/aleph-confidential/virt-alephd.conf.example"
check -f "$(dirname "$hookdir")/aleph-confidential.conf.example"

# the unit starts the installed daemon
if grep -q "^ExecStart=$prefix/sbin/virt-alephd --foreground" "$dest$prefix/lib/systemd/system/virt-alephd.service"; then
  echo "ok - unit ExecStart"
else
  echo "not ok - unit ExecStart"; fail=1
fi
# the hook needs nothing but libc, and the installed module exports the entry point
deps=$(ldd "$dest$hookdir/50-aleph-confidential")
libs=$(awk '{print $1}' <<<"$deps" | grep -v -e linux-vdso -e ld-linux -e '^libc.so' || true)
if [ -z "$libs" ] || [ -n "${ASAN_BUILD:-}" ]; then echo "ok - hook links libc only"; else echo "not ok - hook links $libs"; fail=1; fi
# (nm's output in a variable: with pipefail, grep -q closing the pipe early fails nm)
symbols=$(nm -D --defined-only "$dest$prefix/$libdir/aleph-confidential/libaleph-confidential.so")
if grep -qw ac_module_hook <<<"$symbols"; then
  echo "ok - module exports ac_module_hook"
else
  echo "not ok - module does not export ac_module_hook"; fail=1
fi
exit $fail
