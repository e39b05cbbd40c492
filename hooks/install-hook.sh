#!/bin/sh
# meson install script: libvirt runs every executable in qemu.d in name order; ours is
# 50-aleph-confidential.
set -e
dir="${DESTDIR:-}$1"
mv -f "$dir/aleph-hook" "$dir/50-aleph-confidential"
