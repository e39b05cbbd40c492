#!/usr/bin/env bash
# The unit's CapabilityBoundingSet= and NoNewPrivileges= leave the service what its image
# build needs: 'virt-aleph build' of a disk image (the service's build: qemu-img, a read-only
# loop mount, cp -a of the tree, mkfs, LUKS) succeeds under exactly that bounding set, in a
# private mount namespace (PrivateMounts=), with a guest tree whose copy needs the
# capabilities: files of other owners, set-uid and set-gid programs, a file capability, a
# device node in its /dev, a disk image owned by libvirt's qemu user (mode 0600).
# Root only (a loop mount), like the builder's tests.
#   test-unit-caps.sh UNIT VIRT_ALEPH
set -euo pipefail
unit=$1 virt_aleph=$(realpath "$2")
if [ "$(id -u)" != 0 ]; then
  echo "# SKIP needs root (a loop mount)"; exit 77
fi
for tool in setpriv unshare mkfs.ext4 setcap qemu-img mcopy; do
  command -v "$tool" >/dev/null || { echo "not ok - $tool missing (scripts/setup.sh)"; exit 1; }
done
caps=$(sed -n 's/^CapabilityBoundingSet=//p' "$unit" | tr ' ' '\n' | grep . \
       | tr 'A-Z' 'a-z' | sed 's/^cap_/+/' | paste -sd, -)
if [ -z "$caps" ]; then echo "not ok - no CapabilityBoundingSet= in $unit"; exit 1; fi
grep -q '^NoNewPrivileges=yes' "$unit" || { echo "not ok - no NoNewPrivileges=yes in $unit"; exit 1; }
echo "# bounding set: $caps"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
tree=$tmp/tree
mkdir -p "$tree/usr/bin" "$tree/dev" "$tree/etc/private"
cp /bin/true "$tree/usr/bin/su" && chmod 4755 "$tree/usr/bin/su"
cp /bin/true "$tree/usr/bin/chage" && chgrp 42 "$tree/usr/bin/chage" && chmod 2755 "$tree/usr/bin/chage"
cp /bin/true "$tree/usr/bin/ping" && setcap cap_net_raw+ep "$tree/usr/bin/ping"
mknod "$tree/dev/console" c 5 1
echo guest >"$tree/etc/private/hostname"
chown -R 1000:1000 "$tree/etc/private" && chmod 0700 "$tree/etc/private"
truncate -s 64M "$tmp/disk.raw"
mkfs.ext4 -q -d "$tree" "$tmp/disk.raw"
chown 64055:64055 "$tmp/disk.raw" && chmod 0600 "$tmp/disk.raw"
mkdir "$tmp/out"
cat >"$tmp/t.json" <<JSON
{"name": "caps", "source": {"type": "image", "path": "$tmp/disk.raw", "format": "raw"},
 "disk": {"size": 268435456}, "output": {"path": "$tmp/out/caps.img"}}
JSON

build() { # BOUNDING-SET
  unshare --mount --propagation private \
    setpriv --no-new-privs --bounding-set "-all,$1" -- \
    "$virt_aleph" build --force --quiet --no-cid --passphrase-out="$tmp/out/pass" "$tmp/t.json" \
    >"$tmp/build.log" 2>&1
}
fail=0
if build "$caps" && [ -s "$tmp/out/caps.img" ]; then
  echo "ok - the image build succeeds within the unit's bounding set"
else
  echo "not ok - the image build fails within the unit's bounding set:"
  sed 's/^/# /' "$tmp/build.log"; fail=1
fi
# the bounding set really binds: without CAP_MKNOD the guest's /dev/console cannot be copied
rm -f "$tmp/out/caps.img" "$tmp/out/pass"
if ! build "$(tr ',' '\n' <<<"$caps" | grep -vx '+mknod' | paste -sd, -)" \
   && grep -q "dev/console" "$tmp/build.log"; then
  echo "ok - without CAP_MKNOD the copy of the guest's /dev fails (the set is applied)"
else
  echo "not ok - a build without CAP_MKNOD did not fail on the guest's /dev/console:"
  sed 's/^/# /' "$tmp/build.log"; fail=1
fi
exit $fail
