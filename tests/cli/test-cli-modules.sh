#!/usr/bin/env bash
# virt-aleph loads only what a command uses: the front links GLib and OpenSSL only and runs
# --version, --help, snp verify-report, snp measure and ipfs cid | car without opening a module or
# loading GIO, GObject or json-glib; sev and snp's other commands open the main module (json-glib, GIO)
# and no library of the plugin layer; each other command opens the main module and the one module of
# its area (aleph, virt, flow), which links only its area's libraries. No module holds a copy
# of the front's code or of the main module's. The modules are found beside the program (build tree) and
# under the root the program is installed in (a DESTDIR, an unpacked package); a module that
# cannot be loaded is an `unsupported` error (exit 12) naming it.
#   test-cli-modules.sh BUILDDIR BINDIR CLIMODULEDIR
set -uo pipefail
build=$1 bindir=$2 climoduledir=$3
cli=$build/plugin/cli/virt-aleph
snpdata=$(cd "$(dirname "$0")/../data/snp/virtee-sev-milan" && pwd)
verify=(snp verify-report "$snpdata/report_milan.bin" --vcek "$snpdata/vcek_milan.der"
        --at 2026-08-18T00:00:00Z --min-tcb bl=0 --allow-tcb-below-default)
measuredata=$(cd "$(dirname "$0")/../data/snp/sev-snp-measure" && pwd)
measure=(snp measure --ovmf "$measuredata/fixtures/ovmf_AmdSev_suffix.bin" --vcpus 4
         --vcpu-type EPYC-v4 --kernel "$measuredata/inputs/kernel.bin"
         --initrd "$measuredata/inputs/initrd.bin" --append "console=ttyS0")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0 passes=0
ok() { passes=$((passes + 1)); echo "ok - $1"; }
bad() { fails=$((fails + 1)); echo "not ok - $1"; }

needed() { readelf -d "$1" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | sed 's/\.so.*//'; }
# NAME FILE ALLOWED-REGEX FORBIDDEN-REGEX...: every NEEDED matches ALLOWED (when given), none
# matches a FORBIDDEN one
check_needed() {
  local name=$1 file=$2 allowed=$3; shift 3
  local libs; libs=$(needed "$file")
  local wrong=""
  for l in $libs; do
    if [ -n "$allowed" ] && ! grep -qxE "$allowed" <<<"$l"; then wrong="$wrong $l"; fi
    for f in "$@"; do
      if grep -qxE "$f" <<<"$l"; then wrong="$wrong $l"; fi
    done
  done
  if [ -z "$wrong" ]; then ok "$name links $(echo $libs)"; else bad "$name links$wrong"; fi
}

heavy='libvirt|libvirt-qemu|libcurl|libcurl-gnutls|libguestfs|libcryptsetup|libfdisk|libext2fs|libsecp256k1|libxml2|libsoup-3.0'
check_needed "virt-aleph (the front)" "$cli" \
  'libglib-2.0|libcrypto|libc|libm|libasan|libubsan|libgcc_s'
check_needed "cli-main.so" "$build/plugin/cli/cli-main.so" \
  'libglib-2.0|libgobject-2.0|libgio-2.0|libjson-glib-1.0|libcrypto|libc|libm|libasan|libubsan|libgcc_s'
check_needed "cli-aleph.so" "$build/plugin/cli/cli-aleph.so" "" \
  'libvirt|libguestfs|libcryptsetup|libfdisk|libext2fs|libxml2'
check_needed "cli-virt.so" "$build/plugin/cli/cli-virt.so" "" \
  'libcurl|libcurl-gnutls|libguestfs|libcryptsetup|libfdisk|libext2fs|libsecp256k1'
for l in libvirt libcryptsetup libfdisk libcurl; do
  if needed "$build/plugin/cli/cli-flow.so" | grep -qx "$l"; then ok "cli-flow.so links $l"; else bad "cli-flow.so does not link $l"; fi
done

# one copy of lib/, sev/ and the CLI plumbing in a process: no module defines a symbol the
# front or the main module exports (a module binds to theirs at load)
exported() { nm -D --defined-only "$1" | awk '$3 ~ /^(ac|cli)_/ {print $3}' | sort; }
front_syms=$(exported "$cli")
main_syms=$(exported "$build/plugin/cli/cli-main.so")
dup=$(comm -12 <(echo "$main_syms") <(echo "$front_syms") | head -5 | tr '\n' ' ')
if [ -z "$dup" ]; then ok "cli-main.so holds no copy of the front's code"; else bad "cli-main.so defines the front's $dup"; fi
for m in aleph virt flow; do
  dup=$(comm -12 <(exported "$build/plugin/cli/cli-$m.so") <(sort <(echo "$front_syms") <(echo "$main_syms")) | head -5 | tr '\n' ' ')
  if [ -z "$dup" ]; then ok "cli-$m.so holds no copy of the front's or the main module's code"; else bad "cli-$m.so defines the front's or main's $dup"; fi
done

# what a command loads, from the dynamic loader itself: NAME "EXPECTED-MODULES" ARGS...
printf 'four KiB, nearly\n' >"$tmp/file"
loads() {
  local name=$1 modules=$2; shift 2
  local log=$tmp/ld.log
  rm -f "$log".*
  # fails_ok=1 loads NAME …: the command fails (its error is reported the same way)
  if ! LD_DEBUG=files LD_DEBUG_OUTPUT=$log "$cli" "$@" >/dev/null 2>"$tmp/err" && [ -z "${fails_ok:-}" ]; then
    bad "$name: failed: $(cat "$tmp/err")"; return
  fi
  local files; files=$(sed -n 's/.*file=\([^ ]*\) .*/\1/p' "$log".* | sort -u)
  local mods; mods=$(grep -oE 'cli-[a-z]+\.so' <<<"$files" | sort -u | tr '\n' ' ')
  local want=""
  for m in $modules; do want="${want}cli-$m.so "; done
  want=$(tr ' ' '\n' <<<"$want" | grep . | sort | tr '\n' ' ')
  if [ "$mods" = "$want" ]; then ok "$name opens ${want:-no module}"; else bad "$name opens '${mods}', expected '${want}'"; fi
  if [ "$modules" = "" ]; then
    local h; h=$(grep -E "/?(libgio-2.0|libgobject-2.0|libjson-glib-1.0|$heavy)\.so" <<<"$files" | tr '\n' ' ')
    if [ -z "$h" ]; then ok "$name loads neither GIO, GObject, json-glib nor the plugin layer's libraries"; else bad "$name loads $h"; fi
  elif [ "$modules" = "main" ]; then
    local h; h=$(grep -E "/?($heavy)\.so" <<<"$files" | tr '\n' ' ')
    if [ -z "$h" ]; then ok "$name loads none of the plugin layer's libraries"; else bad "$name loads $h"; fi
  fi
}
loads "--version" "" --version
loads "--help" "" --help
loads "snp --help" "" snp --help
loads "snp verify-report" "" "${verify[@]}"
loads "snp verify-report --json" "" --json "${verify[@]}"
fails_ok=1 loads "snp verify-report, a failure" "" --json snp verify-report "$tmp/missing"
loads "snp measure" "" "${measure[@]}"
loads "snp measure --json" "" --json "${measure[@]}"
loads "snp measure --debug --output-format base64" "" --debug "${measure[@]}" --output-format base64
loads "snp measure --mode snp:ovmf-hash --json" "" --json snp measure --mode snp:ovmf-hash \
  --ovmf "$measuredata/fixtures/ovmf_AmdSev_suffix.bin"
fails_ok=1 loads "snp measure, a failure" "" --json snp measure --ovmf "$tmp/missing" --vcpus 1
loads "snp measure --help" "" snp measure --help
loads "sev policy explain" "main" sev policy explain 0x5
loads "snp policy explain" "main" snp policy explain 0x30000
loads "ipfs cid" "" ipfs cid "$tmp/file"
loads "ipfs cid --json" "" --json ipfs cid "$tmp/file"
fails_ok=1 loads "ipfs cid, a failure" "" --json ipfs cid "$tmp/missing"
loads "ipfs car" "" --quiet ipfs car "$tmp/file" "$tmp/file.car"
loads "ipfs car --json" "" --json ipfs car "$tmp/file" "$tmp/file.car" --force
loads "ipfs --help" "" ipfs --help
# ipfs add and upload: the network half in the module aleph
fails_ok=1 loads "ipfs add" "main aleph" --timeout 5 ipfs add "$tmp/file" --ipfs-api http://127.0.0.1:9
loads "account --help" "main aleph" account --help
loads "message --help" "main aleph" message --help
loads "tag --help" "main virt" tag --help
# its passphrase is checked against the image on the network: the flow module's work
loads "tag --passphrase-file" "main flow" tag --passphrase-file "$tmp/file" --help
loads "list" "main virt" --connect test:///default list
loads "apply --help" "main flow" apply --help
loads "build --help" "main flow" build --help
loads "doctor --help" "main flow" doctor --help

# installed under another root (a DESTDIR, dpkg -x): the modules of that root
root=$tmp/root
mkdir -p "$root$bindir" "$root$climoduledir"
cp "$cli" "$root$bindir/virt-aleph"
cp "$build"/plugin/cli/cli-*.so "$root$climoduledir/"
if out=$("$root$bindir/virt-aleph" --connect test:///default --json list 2>&1) && [ "$out" = "[]" ]; then
  ok "installed under $root: list runs from the root's module"
else
  bad "installed under $root: list: $out"
fi
# a module that does not load: exit 12, its path named, JSON with --json
printf 'not an ELF file\n' >"$root$climoduledir/cli-virt.so"
out=$("$root$bindir/virt-aleph" tag --help 2>&1); rc=$?
if [ $rc -eq 12 ] && grep -qF "$root$climoduledir/cli-virt.so" <<<"$out"; then
  ok "a broken module: exit 12, named"
else
  bad "a broken module: exit $rc: $out"
fi
out=$("$root$bindir/virt-aleph" --json list 2>/dev/null); rc=$?
if [ $rc -eq 12 ] && /usr/bin/python3 -c 'import json,sys; d=json.loads(sys.argv[1]); assert d["error"]["code"] == "unsupported", d' "$out" 2>/dev/null; then
  ok "a broken module with --json: one JSON error object"
else
  bad "a broken module with --json: exit $rc: $out"
fi
# the other modules still work: a command needs its own area's module only
if "$root$bindir/virt-aleph" account --help >/dev/null 2>&1; then
  ok "a broken cli-virt.so leaves account working"
else
  bad "a broken cli-virt.so breaks account"
fi
# a broken main module: its commands fail as unsupported, naming it; the front's still run
printf 'not an ELF file\n' >"$root$climoduledir/cli-main.so"
out=$("$root$bindir/virt-aleph" sev policy explain 0x5 2>&1); rc=$?
if [ $rc -eq 12 ] && grep -qF "$root$climoduledir/cli-main.so" <<<"$out"; then
  ok "a broken cli-main.so: sev exits 12, naming it"
else
  bad "a broken cli-main.so: sev: exit $rc: $out"
fi
out=$("$root$bindir/virt-aleph" snp make-runtime --help 2>&1); rc=$?
if [ $rc -eq 12 ] && grep -qF "$root$climoduledir/cli-main.so" <<<"$out"; then
  ok "a broken cli-main.so: snp make-runtime exits 12, naming it"
else
  bad "a broken cli-main.so: snp make-runtime: exit $rc: $out"
fi
if out=$("$root$bindir/virt-aleph" --json "${measure[@]}" 2>&1) && [ "$out" = "$("$cli" --json "${measure[@]}")" ]; then
  ok "a broken cli-main.so leaves snp measure working"
else
  bad "a broken cli-main.so breaks snp measure: $out"
fi
if "$root$bindir/virt-aleph" "${verify[@]}" >/dev/null 2>&1; then
  ok "a broken cli-main.so leaves snp verify-report working"
else
  bad "a broken cli-main.so breaks snp verify-report"
fi
if out=$("$root$bindir/virt-aleph" --quiet ipfs cid "$tmp/file" 2>&1) && [ "$out" = "$("$cli" --quiet ipfs cid "$tmp/file")" ]; then
  ok "a broken cli-main.so leaves ipfs cid working"
else
  bad "a broken cli-main.so breaks ipfs cid: $out"
fi

echo "# $passes passed, $fails failed"
[ $fails -eq 0 ]
