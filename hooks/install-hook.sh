#!/bin/sh
# meson install script: libvirt runs every executable in qemu.d in name order; ours is
# 50-aleph-confidential. Installed into the live system (no DESTDIR: not a package build), it
# reminds that libvirt looks for hooks only when it starts.
set -e
dir="${DESTDIR:-}$1"
mv -f "$dir/aleph-hook" "$dir/50-aleph-confidential"
if [ -z "${DESTDIR:-}" ]; then
	echo "aleph-confidential: hook installed as $1/50-aleph-confidential;" \
		"restart libvirtd (or virtqemud) for it to run: systemctl restart libvirtd"
fi
