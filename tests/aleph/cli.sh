#!/usr/bin/env bash
# virt-aleph account | message | ipfs, offline: files in, expected output and exit codes out.
set -uo pipefail
V=$1
data=$(cd "$(dirname "$0")/../data/aleph" && pwd)
work=$(mktemp -d /tmp/ac-cli.XXXXXX)
trap 'rm -rf "$work"' EXIT
pass=0 fail=0
check() { # name, expected rc, actual rc
  if [ "$2" = "$3" ]; then pass=$((pass + 1)); echo "ok - $1"; else fail=$((fail + 1)); echo "not ok - $1 (exit $3, expected $2)"; fi
}
key=$work/keys/ethereum.key

$V account show --key-file "$key" 2>"$work/err"; check "show without a key: not found" 10 $?
grep -q "virt-aleph account create" "$work/err"; check "the error names the fix" 0 $?
$V account create --key-file "$key" > "$work/addr"; check "create" 0 $?
[ "$(stat -c %a "$key")" = 600 ] && [ "$(stat -c %s "$key")" = 32 ]; check "key file is 32 bytes, mode 0600" 0 $?
$V account create --key-file "$key" 2>/dev/null; check "create never overwrites" 11 $?
[ "$($V account show --key-file "$key")" = "$(cat "$work/addr")" ]; check "show prints the created address" 0 $?
chmod 644 "$key"; $V account show --key-file "$key" 2>"$work/err"; check "world-readable key refused" 9 $?
grep -q "chmod 600" "$work/err"; check "refusal tells the fix" 0 $?
chmod 600 "$key"
# import: aleph-client's 32 raw bytes, or hex on stdin (never on argv)
printf '\x01%.0s' $(seq 32) > "$work/raw.key"
[ "$($V account import --key-file "$work/k2" "$work/raw.key")" = 0x1a642f0E3c3aF545E7AcBD38b07251B3990914F1 ]; check "import raw key" 0 $?
echo 0x0000000000000000000000000000000000000000000000000000000000000001 | $V account import --key-file "$work/k3" - > "$work/a3"
[ "$(cat "$work/a3")" = 0x7E5F4552091A69125d5DfCb7b8C2659029395Bdf ]; check "import hex from stdin" 0 $?
echo 1234 | $V account import --key-file "$work/k4" - 2>/dev/null; check "import of garbage refused" 2 $?

# message build reproduces the worked INSTANCE (docs/protocols.md#the-worked-instance-message) from a user content file
$V message build INSTANCE "$data/content/instance-worked.json" --key-file "$work/k2" --time 1700000000 -o "$work/m.json" --quiet; check "build" 0 $?
grep -q '"item_hash":"95139dae69e0e9d2a7b195264f0d04fab023b4cfd7d1f2ae2bd22d7a60a66692"' "$work/m.json"; check "build: the spec's item_hash" 0 $?
grep -q '"signature":"0xad23c5a6f66b99d696ad6056d121a07d2ef8435f5221ac04887386ebcfe227c3199764ed26d66be87967a9bc24c43dcfb070479bed72661e701b3aea59bdfb9d1c"' "$work/m.json"; check "build: the spec's signature" 0 $?
$V message verify "$work/m.json" | grep -q "signed by 0x1a642f0E3c3aF545E7AcBD38b07251B3990914F1"; check "verify" 0 $?
sed 's/coco-test/coco-tesT/' "$work/m.json" > "$work/bad.json"; $V message verify "$work/bad.json" 2>/dev/null; check "verify: changed content → mismatch" 5 $?
$V message build INSTANCE "$data/content/instance-size-float.json" --key-file "$work/k2" 2>"$work/err"; check "build: schema refusal" 2 $?
grep -q "rootfs.size_mib" "$work/err"; check "the refusal names the field" 0 $?
$V message build INSTANCE "$data/content/instance-worked.json" --unsigned --sender 0x1a642f0E3c3aF545E7AcBD38b07251B3990914F1 --time 1700000000 > "$work/u.json"; check "build --unsigned" 0 $?
$V message sign "$work/u.json" --key-file "$work/k2" > "$work/s.json"; check "sign" 0 $?
cmp -s <(tr -d '\n' < "$work/s.json") <(tr -d '\n' < "$work/m.json"); check "sign gives the same message as build" 0 $?
$V message sign "$work/u.json" --key-file "$key" 2>/dev/null; check "sign with another key than the sender: refused" 2 $?

# one message per file: a second JSON document after the first is refused, not ignored
cat "$work/m.json" "$work/m.json" > "$work/two.json"; $V message verify "$work/two.json" 2>"$work/err"; check "verify: two concatenated documents refused" 2 $?
grep -q "trailing data" "$work/err"; check "the refusal says trailing data" 0 $?
{ tr -d '\n' < "$work/m.json"; tr -d '\n' < "$work/m.json"; } > "$work/two1.json"; $V message verify "$work/two1.json" 2>/dev/null; check "verify: {...}{...} on one line refused" 2 $?
{ cat "$work/m.json"; echo '{}'; } | $V message verify - 2>/dev/null; check "verify: trailing document on stdin refused" 2 $?
{ cat "$work/m.json"; printf '\n\n'; } | $V message verify - >/dev/null; check "verify: trailing white space is fine" 0 $?
# high-s (malleable) signatures: (r, n - s) with v flipped recovers the same signer, and is refused
python3 - "$work/m.json" > "$work/highs.json" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
n = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
sig = bytes.fromhex(m["signature"][2:])
s = int.from_bytes(sig[32:64], "big")
assert s <= n // 2
v = 55 - sig[64]  # 27 <-> 28
m["signature"] = "0x" + (sig[:32] + (n - s).to_bytes(32, "big") + bytes([v])).hex()
print(json.dumps(m))
PY
$V message verify "$work/highs.json" 2>"$work/err"; check "verify: high-s signature refused" 2 $?
grep -q "high-s" "$work/err"; check "the refusal says high-s" 0 $?
# --time and --sender are checked, not ignored
for t in -5 0 nan inf -inf 1e300 253402300800 soon 12x ''; do
  $V message build INSTANCE "$data/content/instance-worked.json" --key-file "$work/k2" --time "$t" 2>"$work/err" >/dev/null; check "build --time '$t' refused" 2 $?
  grep -q -- "--time" "$work/err" && grep -q "at most" "$work/err"; check "the refusal of --time '$t' names the option and the range" 0 $?
done
$V message build INSTANCE "$data/content/instance-worked.json" --key-file "$work/k2" --time 1700000000.5 >/dev/null; check "build --time with a fraction" 0 $?
for a in 0xZZ 0x1a642f0E3c3aF545E7AcBD38b07251B3990914 0x1a642f0E3c3aF545E7AcBD38b07251B3990914F1FF 1a642f0E3c3aF545E7AcBD38b07251B3990914F1 0xZa642f0E3c3aF545E7AcBD38b07251B3990914F1; do
  $V message build INSTANCE "$data/content/instance-worked.json" --unsigned --sender "$a" --time 1700000000 2>"$work/err" >/dev/null; check "build --sender $a refused" 2 $?
  grep -q -- "--sender" "$work/err"; check "the refusal of --sender $a names the option" 0 $?
done
$V message --sender 0xZZ verify "$work/m.json" 2>/dev/null >/dev/null; check "--sender 0xZZ refused for verify too" 2 $?
$V message --time -5 verify "$work/m.json" 2>/dev/null >/dev/null; check "--time -5 refused for verify too" 2 $?
$V message build INSTANCE "$data/content/instance-worked.json" --key-file "$work/k2" --sender 0x7E5F4552091A69125d5DfCb7b8C2659029395Bdf --time 1700000000 2>/dev/null >/dev/null; check "build --sender not the key's address refused" 2 $?

# --timeout bounds an HTTP call to a peer that accepts and never answers
exec 3< <(exec python3 -c 'import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(16)
print(s.getsockname()[1], flush=True); time.sleep(60)')
mute_pid=$!
read -r port <&3
start=$(date +%s)
$V --timeout 2 message status "$(printf 'a%.0s' $(seq 64))" --api "http://127.0.0.1:$port" 2>"$work/err"; check "--timeout 2: a mute peer is a network failure" 6 $?
[ $(( $(date +%s) - start )) -le 5 ]; check "--timeout 2: given up within the bound" 0 $?
grep -q "http://127.0.0.1:$port/" "$work/err" && grep -q "whole call" "$work/err"; check "--timeout: the error names the URL and the bound" 0 $?
kill "$mute_pid" 2>/dev/null; exec 3<&-
for t in 0 -5 abc 86401 1.5; do
  $V --timeout "$t" message status "$(printf 'a%.0s' $(seq 64))" --api http://127.0.0.1:1 2>"$work/err"; check "--timeout '$t' refused" 2 $?
  grep -q -- "--timeout" "$work/err"; check "the refusal of --timeout '$t' names the option" 0 $?
done

# ipfs cid prints like ipfs add --only-hash
printf 'hello world' > "$work/hello.txt"
[ "$($V ipfs cid "$work/hello.txt")" = "added Qmf412jQZiuVUtdgnB36FXFX7xg5V6KEbSJ4dpQuhkLyfD hello.txt" ]; check "ipfs cid" 0 $?
$V --quiet ipfs car "$work/hello.txt" "$work/hello.car" > /dev/null && [ -s "$work/hello.car" ] && [ ! -e "$work/hello.car.tmp" ]; check "ipfs car" 0 $?
$V ipfs cid "$work/nope" 2>/dev/null; check "ipfs cid of a missing file" 10 $?

echo "$pass passed, $fail failed"
[ $fail = 0 ]
