#!/usr/bin/env bash
# The Aleph client against implementations nobody here wrote, installed from npm by
# scripts/setup-npm.sh: ethers v5/v6, Aleph's TypeScript SDK, ipfs-unixfs-importer, @ipld/car
# and ipfs-car. Usage: npm-peers.sh VIRT_ALEPH ALEPH_HELPER [sizes…]
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
virt_aleph=$1
helper=$2
shift 2
npm_dir=$top/tests/npm
data=$top/tests/data/aleph
"$top/scripts/setup-npm.sh"

work=$(mktemp -d /tmp/ac-npm-peers.XXXXXX)
trap 'rm -rf "$work"' EXIT
pass=0
fail=0
ok() { pass=$((pass + 1)); echo "ok - $*"; }
ko() { fail=$((fail + 1)); echo "not ok - $*"; }
peer() { node "$npm_dir/aleph-peer.mjs" "$@"; }

if [ $# -eq 0 ]; then
  # --- Keccak-256 on every length around the 136-byte rate, and random longer inputs ---
  lens="0 1 55 56 135 136 137 271 272 273 1000 4096 100000"
  for n in $lens; do head -c "$n" /dev/urandom > "$work/k$n"; done
  ours=$(for n in $lens; do "$helper" keccak "$work/k$n"; done)
  theirs=$(cd "$work" && peer keccak $(for n in $lens; do echo "k$n"; done))
  [ "$ours" = "$theirs" ] && ok "keccak256 equals ethers on lengths $lens" || ko "keccak256 differs from ethers"

  # --- EIP-191 signatures by our code verify with ethers v5 and v6 ---
  "$virt_aleph" account create --key-file "$work/key" >/dev/null 2>&1
  for n in 0 1 31 200 5000; do
    head -c "$n" /dev/urandom > "$work/m$n"
    read -r addr sig < <("$helper" personal-sign "$work/key" "$work/m$n")
    peer personal-verify "$work/m$n" "$sig" "$addr" && ok "personal_sign of $n bytes verifies with ethers" || ko "personal_sign of $n bytes"
  done

  # --- Ethereum V3 keystores ethers writes (v5, v6: scrypt) and opens (pbkdf2) ---
  mkdir -m 700 "$work/ks"
  pw="pässword $RANDOM"
  ks_addr=$(peer keystores "$work/ks" "$pw")
  printf '%s\n' "$pw" > "$work/ks/pw"
  for f in ethers5-scrypt ethers6-scrypt pbkdf2; do
    got=$("$virt_aleph" account show --key-file "$work/ks/$f.json" --password-file "$work/ks/pw" 2>&1) || true
    [ "$got" = "$ks_addr" ] && ok "keystore $f of ethers opens to its address" || ko "keystore $f: $got (ethers: $ks_addr)"
  done
  printf 'not %s\n' "$pw" > "$work/ks/bad"
  set +e; "$virt_aleph" account show --key-file "$work/ks/pbkdf2.json" --password-file "$work/ks/bad" 2>/dev/null; rc=$?; set -e
  [ $rc = 5 ] && ok "keystore with a wrong password refused (exit 5)" || ko "wrong keystore password: exit $rc"

  # --- CRN headers: wallet signature with ethers, ES256 with WebCrypto ---
  p="/control/machine/95139dae69e0e9d2a7b195264f0d04fab023b4cfd7d1f2ae2bd22d7a60a66692/confidential/inject_secret"
  { read -r pk; read -r op; } < <("$helper" crn-auth "$work/key" crn.example.org POST "$p")
  peer crn-auth "$pk" "$op" POST "$p" crn.example.org && ok "CRN headers verify with ethers and WebCrypto" || ko "CRN headers"

  # --- headers made like the TypeScript SDK (ethers + WebCrypto) pass our server-side check ---
  k="0x$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')"
  peer crn-sign "$k" crn.example.org GET "$p" > "$work/ts-headers"
  want=$(sed -n 3p "$work/ts-headers")
  got=$(head -2 "$work/ts-headers" | "$helper" crn-verify crn.example.org GET "$p") || true
  [ "$got" = "$want" ] && ok "TS-style CRN headers accepted by our server-side check" || ko "TS-style CRN headers: $got"
  got=$(head -2 "$work/ts-headers" | "$helper" crn-verify crn.example.org POST "$p") || true
  case "$got" in "401 Invalid method."*) ok "… and refused for another method";; *) ko "another method: $got";; esac

  # --- our messages verify with ethers and the Aleph SDK ---
  for c in instance-worked store-ipfs forget; do
    type=$(echo "$c" | cut -d- -f1 | tr a-z A-Z)
    "$virt_aleph" message build "$type" "$data/content/$c.json" --key-file "$work/key" -o "$work/our-$c.json" --quiet
  done
  peer verify "$work"/our-*.json && ok "our INSTANCE/STORE/FORGET messages verify with ethers v5, v6 and @aleph-sdk verifyEthereum" || ko "our messages refused by the peers"

  # --- messages the TypeScript SDK builds and signs verify with virt-aleph ---
  mkdir "$work/sdk"
  sdk_addr=$(peer sdk-sign "$work/sdk" "0x$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')")
  for f in "$work"/sdk/*.json; do
    out=$("$virt_aleph" --json message verify "$f") && echo "$out" | grep -q "\"signer\" : \"$sdk_addr\"" \
      && ok "virt-aleph message verify accepts SDK message $(basename "$f")" || ko "SDK message $(basename "$f"): $out"
  done
  # the SDK's INSTANCE/STORE/FORGET contents pass our schema checks (same limits, same fields)
  for t in instance store forget; do
    python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["item_content"])' \
      "$work/sdk/sdk-$t.json" > "$work/sdk-content-$t.json"
    "$virt_aleph" message build "$(echo $t | tr a-z A-Z)" "$work/sdk-content-$t.json" --unsigned \
      --sender "$sdk_addr" > "$work/rebuilt-$t.json" 2> "$work/rebuilt-$t.err" \
      && ok "the SDK's $t content passes our schema" || ko "the SDK's $t content refused: $(cat "$work/rebuilt-$t.err")"
  done
  # a tampered SDK message is refused with the mismatch exit code
  sed 's/peer-test/peer-tesT/' "$work/sdk/sdk-instance.json" > "$work/tampered.json"
  set +e; "$virt_aleph" message verify "$work/tampered.json" 2>/dev/null; rc=$?; set -e
  [ $rc = 5 ] && ok "tampered SDK message refused (exit 5)" || ko "tampered SDK message: exit $rc"
  # the signature of one SDK message moved onto another is refused
  python3 - "$work/sdk/sdk-store.json" "$work/sdk/sdk-forget.json" "$work/swapped.json" <<'PY'
import json, sys
a = json.load(open(sys.argv[1])); b = json.load(open(sys.argv[2]))
b["signature"] = a["signature"]; json.dump(b, open(sys.argv[3], "w"))
PY
  set +e; "$virt_aleph" message verify "$work/swapped.json" 2>/dev/null; rc=$?; set -e
  [ $rc = 5 ] && ok "signature of another message refused (exit 5)" || ko "swapped signature: exit $rc"

  C=262144
  sizes="0 1 $((C - 1)) $C $((C + 1)) $((2 * C)) $((174 * C - 1)) $((174 * C)) $((174 * C + 1)) $((175 * C + 7))"
  sizes="$sizes $((RANDOM * 97)) $((RANDOM * 1031))"
  # around 64 KiB: the leaf block (file bytes + 14) is hashed with GLib up to 65536 bytes,
  # with OpenSSL above (ac-unixfs.c)
  sizes="$sizes 65521 65522 65523 65536"
else
  sizes="$*"
fi

# --- CID and CAR byte for byte against ipfs-unixfs-importer + @ipld/car; ipfs-car reads ours ---
for n in $sizes; do
  head -c "$n" /dev/urandom > "$work/f"
  ours=$("$virt_aleph" --quiet ipfs car --force "$work/f" "$work/ours.car")
  cid_only=$("$virt_aleph" --quiet ipfs cid "$work/f")
  theirs=$(node "$npm_dir/ipfs-peer.mjs" "$work/f" "$work/theirs.car" | sed 's/.*"cid":"\([^"]*\)".*/\1/')
  roots=$(node "$npm_dir/node_modules/ipfs-car/bin.js" roots "$work/ours.car")
  rm -rf "$work/unpacked"
  node "$npm_dir/node_modules/ipfs-car/bin.js" unpack "$work/ours.car" --output "$work/unpacked" >/dev/null
  if [ "$ours" = "$theirs" ] && [ "$cid_only" = "$ours" ] && cmp -s "$work/ours.car" "$work/theirs.car" \
     && [ "$roots" = "$ours" ] && cmp -s "$work/f" "$work/unpacked"; then
    ok "$n bytes: CID $ours and CAR equal ipfs-unixfs-importer/@ipld/car; ipfs-car unpacks it"
  else
    ko "$n bytes: ours $ours / cid $cid_only, importer $theirs, ipfs-car roots $roots"
  fi
done

echo "$pass passed, $fail failed"
[ $fail = 0 ]
