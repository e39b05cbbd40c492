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
# virt-aleph's command modules (plugin/cli/ac-cli-module.c)
for m in main aleph virt flow; do
  check -f "$prefix/$libdir/aleph-confidential/cli/cli-$m.so"
done
check -x "$prefix/sbin/virt-alephd"
check -f "$prefix/share/aleph-confidential/schemas/confidential.rng"
check -f "$prefix/share/aleph-confidential/schemas/confidential-status.rng"
check -f "$prefix/share/aleph-confidential/schemas/confidential-launch.rng"
check -f "$prefix/share/man/man1/virt-aleph.1"
check -f "$prefix/share/man/man8/virt-alephd.8"
check -f "$prefix/share/man/man1/aleph-devnet.1"
check -f "$prefix/share/aleph-confidential/devnet/snp-runtime/OVMF.fd"
check -f "$prefix/share/bash-completion/completions/virt-aleph"
check -f "$prefix/share/zsh/site-functions/_virt-aleph"
check -f "$prefix/lib/systemd/system/virt-alephd.service"
check -f "$prefix/share/aleph-confidential/examples/confidential-domain.xml"
check -f "$prefix/share/aleph-confidential/examples/templates/debian-12-aleph.json"
check -f "$prefix/share/doc/aleph-confidential/exit-codes.md"
# the docs with the diagrams they embed (relative links: diagrams/*.svg beside the .md)
for f in architecture.md protocols.md tagging.md diagrams/pipeline.svg diagrams/localsev.svg \
         diagrams/trust.svg diagrams/aleph-flow.svg; do
  check -f "$prefix/share/doc/aleph-confidential/$f"
done
# commented sample configurations beside the real ones (tests/cli/test_config_docs.py parses them)
check -f "$sysconfdir/aleph-confidential/virt-alephd.conf.example"
check -f "$(dirname "$hookdir")/aleph-confidential.conf.example"

# the unit starts the installed daemon
if grep -q "^ExecStart=$prefix/sbin/virt-alephd --foreground" "$dest$prefix/lib/systemd/system/virt-alephd.service"; then
  echo "ok - unit ExecStart"
else
  echo "not ok - unit ExecStart"; fail=1
fi
# the installed unit can be enabled as the README says (systemctl --root: no running systemd)
if command -v systemctl >/dev/null; then
  if systemctl --root="$dest" enable virt-alephd.service >/dev/null 2>&1 &&
     [ "$(readlink "$dest/etc/systemd/system/multi-user.target.wants/virt-alephd.service")" \
       = "$prefix/lib/systemd/system/virt-alephd.service" ]; then
    echo "ok - systemctl enable virt-alephd: wanted by multi-user.target"
  else
    echo "not ok - systemctl --root enable virt-alephd.service made no multi-user.target.wants link"; fail=1
  fi
else
  echo "ok - # SKIP systemctl not installed (systemctl enable virt-alephd)"
fi
# installed into the live system, the hook's install script says libvirt must restart; into a
# DESTDIR (a package build) it says nothing
scratch=$(mktemp -d)
touch "$scratch/aleph-hook"
msg=$(env -u DESTDIR sh "$(dirname "$0")/../../hooks/install-hook.sh" "$scratch" 2>&1)
if [ -e "$scratch/50-aleph-confidential" ] && grep -q "restart libvirtd (or virtqemud)" <<<"$msg"; then
  echo "ok - installing the hook reminds to restart libvirtd"
else
  echo "not ok - installing the hook without DESTDIR: '$msg'"; fail=1
fi
touch "$scratch/aleph-hook"
msg=$(DESTDIR=$scratch sh "$(dirname "$0")/../../hooks/install-hook.sh" / 2>&1)
if [ -z "$msg" ]; then echo "ok - silent into a DESTDIR"; else echo "not ok - into a DESTDIR: '$msg'"; fail=1; fi
rm -rf "$scratch"
# the installed virt-aleph finds its modules (under the DESTDIR it runs from)
if out=$("$dest$prefix/bin/virt-aleph" --connect test:///default --json list 2>&1) && [ "$out" = "[]" ]; then
  echo "ok - installed virt-aleph list runs (module virt)"
else
  echo "not ok - installed virt-aleph list: $out"; fail=1
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
