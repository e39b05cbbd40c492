#!/usr/bin/env bash
# The SEV-SNP owner-authenticated injection (canonical secrets JSON, the signed text bound to the
# agent's TLS key, EIP-191, the request body) against ethers, which scripts/setup-npm.sh
# installs: fresh random owner keys, agent keys and secrets (quotes, backslashes, control
# characters, non-ASCII) each run. Usage: snp-inject-ethers.sh ALEPH_HELPER [cases]
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
helper=$1
cases=${2:-12}
"$top/scripts/setup-npm.sh"

work=$(mktemp -d /tmp/ac-snp-inject.XXXXXX)
trap 'rm -rf "$work"' EXIT
pass=0
fail=0
for i in $(seq 1 "$cases"); do
  key=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
  pk=04$(head -c 96 /dev/urandom | od -An -tx1 | tr -d ' \n')
  python3 - "$work/secrets.json" <<'PY'
import json, random, sys
chars = [chr(c) for c in range(1, 0x80)] + ["é", "€", "\u2028", "🔑", "ß", "\x7f"]
names = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-"
secrets = {"luks_passphrase": "".join(random.choice(chars) for _ in range(random.randint(0, 64)))}
for _ in range(random.randint(0, 15)):
    k = "".join(random.choice(names) for _ in range(random.randint(1, 64)))
    secrets[k] = "".join(random.choice(chars) for _ in range(random.randint(0, 300)))
# names of digits only: sorted as text ("10" < "6"), whatever a JS object would do with them
# (at most 16 secrets in all)
if random.random() < 0.5:
    for _ in range(random.randint(1, 3)):
        if len(secrets) == 16:
            del secrets[next(k for k in secrets if k != "luks_passphrase")]
        secrets[str(random.randint(0, 99))] = "".join(random.choice(chars) for _ in range(8))
items = list(secrets.items())
random.shuffle(items)
json.dump(dict(items), open(sys.argv[1], "w"), ensure_ascii=random.random() < 0.5)
PY
  "$helper" snp-inject "$key" "$pk" "$work/secrets.json" > "$work/body"
  if node "$top/tests/npm/aleph-peer.mjs" snp-inject "0x$key" "$pk" "$work/secrets.json" "$work/body"; then
    pass=$((pass + 1)); echo "ok $i - injection body equals ethers' ($(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$work/secrets.json") secrets)"
  else
    fail=$((fail + 1)); echo "not ok $i - injection body differs from ethers'"; cp "$work/secrets.json" "/tmp/snp-inject-failed-$i.json"
  fi
done
echo "$pass passed, $fail failed"
[ $fail = 0 ]
