#!/usr/bin/env bash
# Installs every build and test dependency of aleph-confidential on Debian 12.
# Idempotent: when everything is present it returns in well under a second.
set -euo pipefail

PKGS=(
  # build
  build-essential meson ninja-build pkg-config clang-format clang libclang-rt-14-dev
  libglib2.0-dev libglib2.0-bin libjson-glib-dev libxml2-dev libxml2-utils libssl-dev openssl
  libcurl4-openssl-dev libcryptsetup-dev libsecp256k1-dev libsoup-3.0-dev libsqlite3-dev
  libfdisk-dev libglib-testing-0-dev libvirt-dev libext2fs-dev
  # run and test
  libvirt-daemon-system libvirt-clients libvirt-clients-qemu qemu-system-x86 qemu-utils ovmf
  python3 python3-lxml python3-cryptography python3-jsonschema
  cryptsetup-bin e2fsprogs dosfstools mtools fdisk gdisk
  busybox-static cpio
  bash-completion zsh groff-base   # shell completion (tested in bash and zsh); man page checks

  util-linux iproute2 procps curl ca-certificates
  debootstrap
  openssh-server openssh-client netcat-openbsd   # the remote-host (qemu+ssh://) test
  libguestfs-dev libguestfs0 supermin
  graphviz virtinst   # docs/diagrams (dot → SVG); virt-xml and virt-install for docs/tagging.md
  debhelper                 # debian/ packaging (tests/install/test-deb.sh)
)

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null | grep -qx installed; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Node.js (with npm) for the independent peers; the machine image may ship its own build.
if ! command -v npm >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi

# A guest kernel for the integration tests' tiny TCG guest.
if ! ls /boot/vmlinuz-* >/dev/null 2>&1; then
  echo "setup: installing a guest kernel (linux-image-amd64)" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq --no-install-recommends linux-image-amd64 >/dev/null
fi
