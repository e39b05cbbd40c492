#!/usr/bin/env bash
# The Debian packaging (debian/): dpkg-buildpackage -b on a copy of the source tree gives
# installable .debs -- aleph-confidential (service, CLI, unit), aleph-confidential-hook (hook
# and module), aleph-devnet -- each unpacked with dpkg -x into a scratch root and checked:
# files where they belong, the dependencies dpkg will resolve, maintainer scripts that enable
# the unit and tell the admin to restart libvirt for the hook.
#   test-deb.sh SOURCEDIR
set -euo pipefail
src=$1
for tool in dpkg-buildpackage dh dpkg-deb; do
  if ! command -v "$tool" >/dev/null; then
    echo "not ok - $tool missing: scripts/setup.sh installs dpkg-dev and debhelper"; exit 1
  fi
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
ok() { echo "ok - $1"; }
bad() { echo "not ok - $1"; fail=1; }

# a copy of the tree as it is (tracked and new files, not the build directories)
mkdir "$tmp/src" "$tmp/root"
if git -C "$src" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  (cd "$src" && git ls-files -z --cached --others --exclude-standard) \
    | (cd "$src" && tar --null --files-from - --ignore-failed-read -cf -) | tar -xf - -C "$tmp/src"
else
  tar -C "$src" --exclude='./build*' --exclude='./obj-*' -cf - . | tar -xf - -C "$tmp/src"
fi
if ! (cd "$tmp/src" && dpkg-buildpackage -b -uc -us -j"$(nproc)") >"$tmp/build.log" 2>&1; then
  echo "not ok - dpkg-buildpackage -b failed:"; tail -40 "$tmp/build.log" | sed 's/^/# /'; exit 1
fi
ok "dpkg-buildpackage -b -uc -us"

version=$(cd "$tmp/src" && dpkg-parsechangelog -S Version)
arch=$(dpkg --print-architecture)
multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
deb() { echo "$tmp/${1}_${version}_${arch}.deb"; }
for p in aleph-confidential aleph-confidential-hook aleph-devnet; do
  if [ -f "$(deb $p)" ]; then
    dpkg -x "$(deb $p)" "$tmp/root"
    mkdir -p "$tmp/ctl/$p" && dpkg-deb -e "$(deb $p)" "$tmp/ctl/$p"
    ok "$p .deb built and unpacked"
  else
    bad "no $(basename "$(deb $p)")"; exit 1
  fi
done

# files, by package
has() { # PACKAGE TEST PATH
  if dpkg-deb -c "$(deb "$1")" | awk '{print $6}' | grep -qx "\\.$3"; then
    if [ "$2" "$tmp/root$3" ]; then ok "$1: $3"; else bad "$1: $3 is not $2"; fi
  else
    bad "$1 does not ship $3"
  fi
}
has aleph-confidential -x /usr/sbin/virt-alephd
has aleph-confidential -x /usr/bin/virt-aleph
for m in main aleph virt flow; do
  has aleph-confidential -f "/usr/lib/$multiarch/aleph-confidential/cli/cli-$m.so"
done
has aleph-confidential -f /lib/systemd/system/virt-alephd.service
has aleph-confidential -f /usr/share/man/man1/virt-aleph.1.gz
has aleph-confidential -f /usr/share/man/man8/virt-alephd.8.gz
has aleph-confidential -f /usr/share/aleph-confidential/schemas/confidential.rng
has aleph-confidential -f /usr/share/aleph-confidential/examples/confidential-domain.xml
has aleph-confidential -f /usr/share/doc/aleph-confidential/exit-codes.md
has aleph-confidential -f /etc/aleph-confidential/virt-alephd.conf.example
has aleph-confidential-hook -x /etc/libvirt/hooks/qemu.d/50-aleph-confidential
has aleph-confidential-hook -f "/usr/lib/$multiarch/aleph-confidential/libaleph-confidential.so"
has aleph-confidential-hook -f /etc/libvirt/hooks/aleph-confidential.conf.example
has aleph-confidential -f /usr/share/bash-completion/completions/virt-aleph
has aleph-confidential -f /usr/share/zsh/site-functions/_virt-aleph
has aleph-confidential -f /usr/share/doc/aleph-confidential/architecture.md
has aleph-devnet -x /usr/bin/aleph-devnet
has aleph-devnet -f /usr/share/man/man1/aleph-devnet.1.gz
has aleph-devnet -f /usr/share/aleph-confidential/devnet/snp-runtime/OVMF.fd
# the hook loads the module from where its package puts it
hook="$tmp/root/etc/libvirt/hooks/qemu.d/50-aleph-confidential"
if grep -qaF "/usr/lib/$multiarch/aleph-confidential/libaleph-confidential.so" "$hook"; then
  ok "the hook loads /usr/lib/$multiarch/aleph-confidential/libaleph-confidential.so"
else
  bad "the hook looks for its module elsewhere than the hook package puts it"
fi
# the packaged binaries run (their libraries are the Depends below, present on this host)
for b in /usr/bin/virt-aleph /usr/sbin/virt-alephd; do
  if out=$("$tmp/root$b" --version 2>&1) && [ "$out" = "$(basename $b) $version" ]; then
    ok "$b --version: $out"
  else
    bad "$b --version: $out"
  fi
done
# the packaged virt-aleph finds its modules where the package puts them
if out=$("$tmp/root/usr/bin/virt-aleph" --connect test:///default --json list 2>&1) && [ "$out" = "[]" ]; then
  ok "packaged virt-aleph list runs (module virt)"
else
  bad "packaged virt-aleph list: $out"
fi
# the unit starts the packaged daemon, the state directory is systemd's
unit="$tmp/root/lib/systemd/system/virt-alephd.service"
grep -q '^ExecStart=/usr/sbin/virt-alephd --foreground$' "$unit" && ok "unit ExecStart" || bad "unit ExecStart"
grep -q '^StateDirectory=aleph-confidential$' "$unit" && ok "unit StateDirectory" || bad "unit StateDirectory"

# dependencies: shared libraries (dh_shlibdeps) and the tools the service runs
depends() { # PACKAGE WHAT...
  local p=$1; shift
  local d; d=$(dpkg-deb -f "$(deb "$p")" Depends)
  for w in "$@"; do
    if grep -qE "(^|, )$w( |,|$)" <<<"$d"; then ok "$p Depends: $w"; else bad "$p Depends lacks $w: $d"; fi
  done
}
depends aleph-confidential libc6 libglib2.0-0 libvirt0 libcurl4 libcryptsetup12 qemu-utils mount e2fsprogs dosfstools mtools
depends aleph-confidential-hook libc6 libglib2.0-0 libjson-glib-1.0-0
depends aleph-devnet libc6 libsoup-3.0-0 libsqlite3-0

# aleph-confidential's postinst enables the unit; the unit's [Install] makes that a
# multi-user.target.wants link (deb-systemd-helper on the scratch root, as dpkg --root would)
if grep -q "deb-systemd-helper enable 'virt-alephd.service'" "$tmp/ctl/aleph-confidential/postinst"; then
  ok "postinst enables virt-alephd.service"
else
  bad "postinst does not enable virt-alephd.service"
fi
if DPKG_MAINTSCRIPT_PACKAGE=aleph-confidential DPKG_ROOT="$tmp/root" \
     deb-systemd-helper enable virt-alephd.service \
   && [ "$(readlink "$tmp/root/etc/systemd/system/multi-user.target.wants/virt-alephd.service")" \
        = /lib/systemd/system/virt-alephd.service ]; then
  ok "enabling links virt-alephd.service into multi-user.target.wants"
else
  bad "enabling virt-alephd.service made no multi-user.target.wants link"
fi
for s in prerm postrm; do
  if grep -q "virt-alephd.service" "$tmp/ctl/aleph-confidential/$s"; then
    ok "$s stops/disables the unit"
  else
    bad "$s does not handle virt-alephd.service"
  fi
done

# aleph-confidential-hook's postinst (nothing but a message: run it) says libvirt must restart
if msg=$(sh "$tmp/ctl/aleph-confidential-hook/postinst" configure 2>&1 >/dev/null) \
   && grep -q 'systemctl restart libvirtd' <<<"$msg" && grep -q virtqemud <<<"$msg"; then
  ok "hook postinst: $(head -1 <<<"$msg")"
else
  bad "hook postinst does not say to restart libvirtd/virtqemud: $msg"
fi
if msg=$(sh "$tmp/ctl/aleph-confidential-hook/postinst" abort-upgrade 2>&1) && [ -z "$msg" ]; then
  ok "hook postinst silent but on configure"
else
  bad "hook postinst abort-upgrade: $msg"
fi
exit $fail
