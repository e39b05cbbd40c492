#!/usr/bin/env bash
# A tiny real guest for TCG: the host's kernel and a busybox initramfs whose /init prints a
# marker on the serial console and powers off.
#   make-guest.sh OUTDIR     → OUTDIR/vmlinuz OUTDIR/initrd.img OUTDIR/disk.img
set -euo pipefail
out=${1:?OUTDIR}
mkdir -p "$out"
kernel=$(ls /boot/vmlinuz-* 2>/dev/null | sort -V | tail -1)
if [ -z "$kernel" ]; then
  echo "make-guest.sh: no kernel in /boot (scripts/setup.sh installs linux-image-amd64)" >&2
  exit 1
fi
if [ ! -f "$out/initrd.img" ] || [ "$0" -nt "$out/initrd.img" ]; then
  root=$(mktemp -d)
  trap 'rm -rf "$root"' EXIT
  mkdir -p "$root"/{bin,proc,sys,dev}
  cp /bin/busybox "$root/bin/busybox"
  for a in sh echo poweroff mount cat sleep grep; do ln -s busybox "$root/bin/$a"; done
  cat > "$root/init" <<'INIT'
#!/bin/sh
mount -t proc proc /proc
mount -t devtmpfs dev /dev 2>/dev/null
echo "ALEPH-TEST-GUEST-UP"
if grep -q aleph.hold=1 /proc/cmdline; then
  while true; do sleep 60; done
fi
poweroff -f
INIT
  chmod +x "$root/init"
  (cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) > "$out/initrd.img"
fi
cp -u "$kernel" "$out/vmlinuz"
# the guest's disk: a real (tiny) root filesystem, which the image builder encrypts
if [ ! -f "$out/disk.img" ] || [ "$0" -nt "$out/disk.img" ] || ! blkid -p "$out/disk.img" >/dev/null 2>&1; then
  tree=$(mktemp -d)
  mkdir -p "$tree"/{etc,usr/bin,boot,root}
  echo "aleph-test-guest" > "$tree/etc/hostname"
  echo "ALEPH-TEST-ROOTFS" > "$tree/etc/motd"
  cp /bin/busybox "$tree/usr/bin/busybox"
  mkfs.ext4 -q -F -L rootfs -O ^orphan_file,^metadata_csum_seed -d "$tree" "$out/disk.img" 32M 2>/dev/null ||
    mkfs.ext4 -q -F -L rootfs -d "$tree" "$out/disk.img" 32M
  rm -rf "$tree"
fi
