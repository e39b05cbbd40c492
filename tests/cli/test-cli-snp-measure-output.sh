#!/usr/bin/env bash
# virt-aleph snp measure prints exactly what it printed when json-glib wrote its --json output
# (before the command moved to the front): stdout, stderr and the exit code of each option
# combination below (hex and base64, --json, --debug, --quiet, --mode snp:ovmf-hash, the vCPU
# options, --snp-ovmf-hash, and errors) equal, byte for byte, the transcript recorded then.
#   test-cli-snp-measure-output.sh VIRT_ALEPH VECTORS_DIR TRANSCRIPT
#   test-cli-snp-measure-output.sh VIRT_ALEPH VECTORS_DIR --print  (prints the transcript)
set -uo pipefail
cli=$(realpath "$1") vec=$2 want=$3
[ "$want" = "--print" ] || want=$(realpath "$want")
cd "$vec" || exit 1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

fw=fixtures/ovmf_AmdSev_suffix.bin x64=fixtures/ovmf_OvmfX64_suffix.bin
k=inputs/kernel.bin r=inputs/initrd.bin
append='console=ttyS0 luks=1 owner=0x9319ad3b7a8e0ee24f2e639c40d8ed124c5520ba'
c6=(snp measure --mode snp --vmm-type QEMU --vcpus 2 --vcpu-type EPYC-v4 --ovmf "$fw"
    --kernel "$k" --initrd "$r" --append "$append" --guest-features 0x1)
seed=$("$cli" snp measure --mode snp:ovmf-hash --ovmf "$fw")

transcript() {
  local n=0
  run() {
    local rc
    n=$((n + 1))
    "$cli" "$@" >"$tmp/out" 2>"$tmp/err"; rc=$?
    # the files as they are: a missing or extra newline shows as a difference too
    printf '### %d: virt-aleph' "$n"; printf ' %q' "$@"; printf '\n--- stdout\n'
    cat "$tmp/out"; printf '\n--- stderr\n'; cat "$tmp/err"; printf '\n--- exit %d\n' "$rc"
  }
  for j in "" --json; do
    for f in "" "--output-format hex" "--output-format base64"; do
      # shellcheck disable=SC2086
      run $j snp measure --mode snp:ovmf-hash --ovmf "$fw" $f
      # shellcheck disable=SC2086
      run $j "${c6[@]}" $f
    done
    run $j "${c6[@]}" --debug
    run $j --debug "${c6[@]}" --output-format base64
    run $j --quiet "${c6[@]}"
    run $j --debug snp measure --mode snp:ovmf-hash --ovmf "$fw"
    run $j snp measure --ovmf "$fw" --vcpus 1 --vcpu-type EPYC-v4
    run $j snp measure --ovmf "$x64" --vcpus 1 --vcpu-type EPYC-v4 --guest-features 0x1
    run $j snp measure --ovmf "$fw" --vcpus 4 --vcpu-type EPYC-Milan --kernel /dev/null --initrd /dev/null --guest-features 0x21
    run $j snp measure --ovmf "$fw" --vcpus 3 --vcpu-family 25 --vcpu-model 1 --vcpu-stepping 1 --kernel "$k"
    run $j snp measure --ovmf "$fw" --vcpus 2 --vcpu-sig 0x800f12 --kernel "$k" --append ""
    run $j snp measure --ovmf "$fw" --vcpus 2 --vcpu-type EPYC-Genoa --kernel "$k" --snp-ovmf-hash "$seed"
    run $j snp measure --vcpus 1 --vcpu-type EPYC-v4 --ovmf "$fw" --vmm-type QEMU --guest-features 0x1 --mode snp
    # errors: each exit code and message
    run $j snp measure --vcpus 1 --vcpu-type EPYC-v4
    run $j snp measure --ovmf "$fw" --mode sev
    run $j snp measure --ovmf "$fw" --vcpus 1 --vcpu-type EPYC-v4 --output-format raw
    run $j snp measure --ovmf "$fw" --vcpu-type EPYC-v4
    run $j snp measure --ovmf "$fw" --vcpus 0 --vcpu-type EPYC-v4
    run $j snp measure --ovmf "$fw" --vcpus 1
    run $j snp measure --ovmf "$fw" --vcpus 1 --vcpu-type EPYC-v4 --vcpu-sig 1
    run $j snp measure --ovmf "$fw" --vcpus 1 --vcpu-type Pentium
    run $j snp measure --ovmf "$fw" --vcpus 1 --vcpu-sig 1 --vcpu-model 2
    run $j snp measure --ovmf "$fw" --vcpus 1 --vcpu-family 25 --vcpu-model x --vcpu-stepping 1
    run $j snp measure --ovmf "$fw" --vcpus 1 --vcpu-type EPYC-v4 --initrd "$r"
    run $j snp measure --ovmf "$fw" --vcpus 1 --vcpu-type EPYC-v4 --guest-features 0x2
    run $j snp measure --ovmf "$fw" --vcpus 1 --vcpu-type EPYC-v4 --vmm-type ec2
    run $j snp measure --ovmf "$fw" --vcpus 1 --vcpu-type EPYC-v4 --snp-ovmf-hash 00
    run $j snp measure --ovmf missing.fd --vcpus 1 --vcpu-type EPYC-v4
    run $j snp measure --ovmf "$fw" --vcpus 1 --vcpu-type EPYC-v4 --kernel missing
    run $j snp measure --ovmf "$k" --vcpus 1 --vcpu-type EPYC-v4
    run $j snp measure --ovmf "$k" --mode snp:ovmf-hash
    run $j snp measure --ovmf "$x64" --vcpus 1 --vcpu-type EPYC-v4 --kernel "$k"
    run $j snp measure --ovmf "$fw" --vcpus 1 --vcpu-type EPYC-v4 extra
    run $j snp measure --ovmf "$fw" --vcpus 1 --vcpu-type EPYC-v4 --no-such-option
    run $j snp measure --help
  done
}

if [ "$want" = "--print" ]; then
  transcript
  exit 0
fi
if diff -u "$want" <(transcript) >"$tmp/diff"; then
  echo "ok - snp measure: stdout, stderr and exit code of $(grep -c '^### ' "$want") runs as recorded"
  exit 0
fi
head -80 "$tmp/diff"
echo "not ok - snp measure output differs from $want"
exit 1
