#!/usr/bin/env bash
# CID + CAR throughput and peak RSS of virt-aleph on a file (default 1 GiB of random bytes),
# against `openssl dgst -sha256` (the limit: hashing every byte once), `sha256sum`, and
# ipfs-unixfs-importer + @ipld/car (the peer), all measured in the same run; prints ratios.
# Usage: bench-ipfs.sh VIRT_ALEPH [SIZE_MIB]   (run through `ninja -C BUILD bench-ipfs-run`)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
virt_aleph=$1
mib=${2:-1024}
work=$(mktemp -d /tmp/ac-bench-ipfs.XXXXXX)
trap 'rm -rf "$work"' EXIT
"$top/scripts/setup-npm.sh"

f=$work/data.bin
head -c $((mib * 1024 * 1024)) /dev/urandom > "$f"
cat "$f" > /dev/null   # every contender reads from the page cache

# run NAME CMD… → "seconds max_rss_kib"
run() {
  local name=$1; shift
  /usr/bin/time -f "%e %M" -o "$work/t.$name" "$@" > /dev/null 2> "$work/err.$name" || { cat "$work/err.$name" >&2; exit 1; }
  cat "$work/t.$name"
}
best() { # name, repetitions, cmd…: fastest wall time, its RSS
  local name=$1 reps=$2; shift 2
  local bt="" br=""
  for _ in $(seq "$reps"); do
    read -r t r < <(run "$name" "$@")
    if [ -z "$bt" ] || awk "BEGIN{exit !($t < $bt)}"; then bt=$t; br=$r; fi
    rm -f "$work/out.car"
  done
  echo "$bt $br"
}

read -r t_ssl r_ssl < <(best openssl 3 openssl dgst -sha256 "$f")
read -r t_sum r_sum < <(best sha256sum 2 sha256sum "$f")
read -r t_cid r_cid < <(best cid 3 "$virt_aleph" --quiet ipfs cid "$f")
read -r t_car r_car < <(best car 3 "$virt_aleph" --quiet ipfs car --force "$f" "$work/out.car")
read -r t_js r_js < <(best importer 1 node --max-old-space-size=8192 "$top/tests/npm/ipfs-peer.mjs" "$f" "$work/out.car")

mbps() { awk -v s="$1" -v m="$mib" 'BEGIN{ if (s <= 0) s = 0.01; printf "%.0f", m / s }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (a <= 0) a = 0.01; printf "%.2f", b / a }'; }
printf "file: %d MiB of random bytes (page cache warm)\n" "$mib"
printf "%-34s %8s %9s %10s\n" "contender" "seconds" "MiB/s" "peak RSS"
printf "%-34s %8s %9s %8s MiB\n" "openssl dgst -sha256 (limit)" "$t_ssl" "$(mbps "$t_ssl")" $((r_ssl / 1024))
printf "%-34s %8s %9s %8s MiB\n" "sha256sum" "$t_sum" "$(mbps "$t_sum")" $((r_sum / 1024))
printf "%-34s %8s %9s %8s MiB\n" "virt-aleph ipfs cid" "$t_cid" "$(mbps "$t_cid")" $((r_cid / 1024))
printf "%-34s %8s %9s %8s MiB\n" "virt-aleph ipfs car" "$t_car" "$(mbps "$t_car")" $((r_car / 1024))
printf "%-34s %8s %9s %8s MiB\n" "ipfs-unixfs-importer + @ipld/car" "$t_js" "$(mbps "$t_js")" $((r_js / 1024))
echo
echo "ratios (higher = faster than the peer):"
echo "  cid vs openssl dgst -sha256:  $(ratio "$t_cid" "$t_ssl")   (1.00 = as fast as hashing once)"
echo "  car vs openssl dgst -sha256:  $(ratio "$t_car" "$t_ssl")"
echo "  sha256sum vs openssl:         $(ratio "$t_sum" "$t_ssl")"
echo "  car vs ipfs-unixfs-importer:  $(ratio "$t_car" "$t_js")x faster"
echo "  peak RSS car / importer:      $(awk -v a="$r_car" -v b="$r_js" 'BEGIN{printf "%.3f", a / b}')"
