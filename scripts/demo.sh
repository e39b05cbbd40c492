#!/usr/bin/env bash
# The main job on the embedded default: a private libvirtd with our hook, virt-alephd, a tiny
# real guest, and a tagged domain defined with virsh. Shows each step and where the status
# lives. Everything runs under DIR (default /tmp/aleph-demo) and is torn down at the end
# unless --keep is given. --first-steps stops after the service wrote the first status (CI runs
# that from a directory that never existed: tests/integration/test_demo.sh).
#   scripts/demo.sh [--keep] [--first-steps] [DIR]
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
keep=0
first_steps=0
while [ $# -gt 0 ]; do
  case "$1" in
    --keep) keep=1; shift ;;
    --first-steps) first_steps=1; shift ;;
    *) break ;;
  esac
done
dir=${1:-/tmp/aleph-demo}
builddir=${BUILDDIR:-$top/build}
harness="$top/tests/integration/libvirtd.sh"
status_ns="https://aleph.cloud/ns/libvirt/confidential-status/1"

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
show() { printf '$ %s\n' "$*"; "$@"; }

step "Installing dependencies and building (scripts/setup.sh, scripts/build.sh)"
bash "$top/scripts/setup.sh"
BUILDDIR="$builddir" bash "$top/scripts/build.sh"
virt_aleph="$builddir/plugin/cli/virt-aleph"
virt_alephd="$builddir/plugin/daemon/virt-alephd"

cleanup() {
  if [ "$keep" = 0 ]; then
    [ -f "$dir/virt-alephd.pid" ] && kill "$(cat "$dir/virt-alephd.pid")" 2>/dev/null || true
    [ -f "$dir/devnet.pid" ] && kill "$(cat "$dir/devnet.pid")" 2>/dev/null || true
    "$harness" stop "$dir" >/dev/null 2>&1 || true
  fi
}
trap cleanup EXIT

step "Starting a private libvirtd with the aleph-confidential hook in $dir"
"$harness" stop "$dir" >/dev/null 2>&1 || true
for pidfile in "$dir/virt-alephd.pid" "$dir/devnet.pid"; do
  [ -f "$pidfile" ] && kill "$(cat "$pidfile")" 2>/dev/null || true
done
# a previous demo's directory (marked as ours) starts afresh; anything else is left alone
if [ -e "$dir" ] && [ ! -e "$dir/.aleph-demo" ]; then
  echo "demo.sh: $dir exists and is not a demo directory; pass another DIR" >&2
  exit 2
fi
rm -rf --one-file-system "$dir"
mkdir -p "$dir" && touch "$dir/.aleph-demo"
"$harness" start "$dir" "$builddir"
uri=$("$harness" uri "$dir")
export LIBVIRT_DEFAULT_URI="$uri"
echo "libvirt URI: $uri"
echo "hook:        $dir/etc/libvirt/hooks/qemu.d/50-aleph-confidential"

step "Making a tiny real guest (host kernel + busybox initramfs)"
"$top/tests/integration/make-guest.sh" "$dir/guest"

step "Starting virt-alephd (log: $dir/virt-alephd.log)"
"$virt_alephd" --connect "$uri" --pidfile "$dir/virt-alephd.pid" --foreground >>"$dir/virt-alephd.log" 2>&1 &
sleep 0.5

step "Defining a tagged domain with virsh (examples/confidential-domain.xml)"
sed "s#@DIR@#$dir#g" "$top/examples/confidential-domain.xml" > "$dir/aleph-demo.xml"
sed -n '/<metadata>/,/<\/metadata>/p' "$dir/aleph-demo.xml"
virsh -q undefine aleph-demo >/dev/null 2>&1 || true
show virsh define "$dir/aleph-demo.xml"

step "The service validated the tag and wrote its status into the domain's metadata"
for _ in $(seq 1 50); do
  virsh -q metadata aleph-demo "$status_ns" >/dev/null 2>&1 && break
  sleep 0.2
done
show virsh metadata aleph-demo "$status_ns"
show "$virt_aleph" status aleph-demo
if [ "$first_steps" = 1 ]; then
  step "First steps done (--first-steps)"
  exit 0
fi

step "Starting it on this host: the hook refuses (no AMD SEV here, so no local start)"
show virsh start aleph-demo || true

step "An invalid tag is refused too, and the status says why"
show virsh metadata aleph-demo https://aleph.cloud/ns/libvirt/confidential/1 --key aleph --config \
  --set '<confidential><disk dev="vdz"/></confidential>'
sleep 1
show "$virt_aleph" status aleph-demo

step "Test mode: an unprotected local run for testing (virt-aleph tag --local test)"
show "$virt_aleph" tag aleph-demo --disk vda --local test
show virsh start aleph-demo
for _ in $(seq 1 150); do
  grep -q ALEPH-TEST-GUEST-UP "$dir/aleph-demo.console" 2>/dev/null && break
  sleep 0.2
done
grep ALEPH-TEST-GUEST-UP "$dir/aleph-demo.console"
show virsh destroy aleph-demo
show "$virt_aleph" status aleph-demo

step "The Aleph flow on the devnet: a local Aleph network with software SEV and SEV-SNP nodes"
devnet_bin="$builddir/devnet/aleph-devnet"
mkdir -p "$dir/devnet"
cat > "$dir/devnet/devnet.json" <<JSON
{ "state_dir": "$dir/devnet/state", "rsa_bits": 2048, "crns": [ { "attack": "none" } ] }
JSON
"$devnet_bin" --config "$dir/devnet/devnet.json" > "$dir/devnet/ready.json" 2>"$dir/devnet/devnet.log" &
echo $! > "$dir/devnet.pid"
for _ in $(seq 1 600); do
  [ -s "$dir/devnet/ready.json" ] && break
  if ! kill -0 "$(cat "$dir/devnet.pid")" 2>/dev/null; then
    echo "aleph-devnet exited before it was ready:" >&2; cat "$dir/devnet/devnet.log" >&2; exit 1
  fi
  sleep 0.1
done
if [ ! -s "$dir/devnet/ready.json" ]; then
  echo "aleph-devnet is not ready after 60 s; its log: $dir/devnet/devnet.log" >&2; exit 1
fi
info() { /usr/bin/python3 -c "import json,sys; d=json.load(open('$dir/devnet/ready.json')); print(eval(sys.argv[1]))" "$1"; }
api=$(info 'd["ccn"]')
echo "CCN (Aleph API): $api"
echo "CRN:             $(info 'd["crns"][0]["url"]')"
echo "devnet root:     $(info 'd["trust_root"]["ark"]')  (trusted only because the config says so)"
echo "SEV-SNP ARK:     $(info 'd["snp"]["ark"]')  (likewise), KDS $(info 'd["snp"]["kds"]')"
echo "SNP runtime:     $(info 'd["snp"]["runtime"]')  (the devnet's aleph-instance-runtime/1 manifest)"

step "An Ethereum account for signing (aleph-client's key file format)"
show "$virt_aleph" account create --key-file "$dir/ethereum.key"

step "The service's configuration: state, key, and the devnet's roots trusted explicitly"
cat > "$dir/virt-alephd.conf" <<CONF
[daemon]
monitor-interval=5
[pipeline]
state-dir=$dir/aleph-state
key-file=$dir/ethereum.key
trusted-roots=$(info 'd["trust_root"]["ark"]')
snp-trusted-arks=$(info 'd["snp"]["ark"]')
snp-kds=$(info 'd["snp"]["kds"]')
snp-runtime=$(info 'd["snp"]["runtime"]')
poll-first-ms=200
poll-max-ms=1000
CONF
cat "$dir/virt-alephd.conf"
old_pid=$(cat "$dir/virt-alephd.pid")
kill "$old_pid" 2>/dev/null || true
while kill -0 "$old_pid" 2>/dev/null; do sleep 0.1; done
"$virt_alephd" --connect "$uri" --config "$dir/virt-alephd.conf" --pidfile "$dir/virt-alephd.pid" \
  --foreground >>"$dir/virt-alephd.log" 2>&1 &

step "Defining a domain tagged with <aleph:publish> (examples/aleph-domain.xml) and an SEV-SNP one (examples/aleph-snp-domain.xml)"
cp "$dir/guest/disk.img" "$dir/aleph-web.img"
cp "$dir/guest/disk.img" "$dir/aleph-snp.img"
sed -e "s#@DIR@#$dir#g" -e "s#@API@#$api#g" -e "s#@FW_SHA256@#$(info 'd["firmware"]["sha256"]')#g" \
    -e "s#@FW_REF@#$(info 'd["firmware"]["item_hash"]')#g" "$top/examples/aleph-domain.xml" > "$dir/aleph-web.xml"
sed -e "s#@DIR@#$dir#g" -e "s#@API@#$api#g" "$top/examples/aleph-snp-domain.xml" > "$dir/aleph-snp.xml"
sed -n '/<metadata>/,/<\/metadata>/p' "$dir/aleph-web.xml"
show virsh define "$dir/aleph-web.xml"
sed -n '/<metadata>/,/<\/metadata>/p' "$dir/aleph-snp.xml"
show virsh define "$dir/aleph-snp.xml"

step "virt-alephd builds, publishes, attests and injects; each step lands in the status element"
flow_ok=1
show "$virt_aleph" status --follow aleph-web || flow_ok=0
show "$virt_aleph" status aleph-web
show virsh metadata aleph-web "$status_ns"
if [ "$flow_ok" = 0 ]; then
  echo "The Aleph flow failed; the status above says where and why."
  show "$virt_aleph" logs aleph-web --config "$dir/virt-alephd.conf" || true
  exit 1
fi

step "The devnet confirms: the secret was released only after attestation, and it opens the image"
/usr/bin/python3 - "$(info 'd["admin"]')" "$("$virt_aleph" status aleph-web --json | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["status"]["instance"])')" <<'PY'
import json, sys, urllib.request
vm = json.load(urllib.request.urlopen(f"{sys.argv[1]}/admin/vms/{sys.argv[2]}"))
for v in vm["vms"]:
    print(f"  VM {sys.argv[2][:16]}…: secrets released {v.get('secrets_released')}, "
          f"passphrase checks passed {v.get('passphrase_ok')}")
PY

step "The pipeline's log (never a secret in it)"
show "$virt_aleph" logs aleph-web --config "$dir/virt-alephd.conf"

step "The SEV-SNP instance: runtime measured here, LUKS2 image, sev_snp INSTANCE, the agent's report verified over TLS, then the passphrase"
snp_ok=1
show "$virt_aleph" status --follow aleph-snp || snp_ok=0
show "$virt_aleph" status aleph-snp
if [ "$snp_ok" = 0 ]; then
  echo "The SEV-SNP flow failed; the status above says where and why."
  show "$virt_aleph" logs aleph-snp --config "$dir/virt-alephd.conf" || true
  exit 1
fi
echo "What was verified before the passphrase left (the pipeline's log):"
"$virt_aleph" logs aleph-snp --config "$dir/virt-alephd.conf" | grep -E 'expected launch digest|report verified|took the passphrase'
/usr/bin/python3 - "$(info 'd["admin"]')" "$("$virt_aleph" status aleph-snp --json | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["status"]["instance"])')" <<'PY'
import json, sys, urllib.request
vm = json.load(urllib.request.urlopen(f"{sys.argv[1]}/admin/vms/{sys.argv[2]}"))
for v in vm["vms"]:
    print(f"  SNP VM {sys.argv[2][:16]}…: TLS handshakes {v.get('agent_handshakes')}, fresh reports "
          f"{v.get('fresh_reports')}, injections {v.get('inject_attempts')}, passphrase opened "
          f"the LUKS2 image {v.get('passphrase_ok')} time(s)")
PY

step "The local SEV flow: a domain tagged <aleph:local mode='sev'/> (examples/local-sev-domain.xml)"
cp "$dir/guest/disk.img" "$dir/local-sev.img"
orig_sha=$(sha256sum "$dir/local-sev.img" | cut -d' ' -f1)
cp "$top/tests/data/localsev/ovmf-amdsev.fd" "$dir/AMDSEV.fd"
sed -e "s#@DIR@#$dir#g" -e "s#@FW@#$dir/AMDSEV.fd#g" \
    -e "s#@FW_SHA256@#$(sha256sum "$dir/AMDSEV.fd" | cut -d' ' -f1)#g" \
    "$top/examples/local-sev-domain.xml" > "$dir/local-sev.xml"
sed -n '/<metadata>/,/<\/metadata>/p' "$dir/local-sev.xml"
show virsh define "$dir/local-sev.xml"

step "virt-alephd encrypts the disk itself and points the domain at the image; this host has no SEV, so it stops at prepare and says why"
show "$virt_aleph" status --follow local-sev || true
show virsh domblklist --details local-sev
show virsh dumpxml --inactive local-sev --xpath //os/loader
show virsh secret-list
echo "original disk $dir/local-sev.img: sha256 $(sha256sum "$dir/local-sev.img" | cut -d' ' -f1) (before: $orig_sha)"
echo "On an SEV host the flow goes on: chain verified, <launchSecurity> with a fresh session, the hook"
echo "admits only that launch, 'virsh start --paused local-sev', then attest and resume."

step "Service log"
cat "$dir/virt-alephd.log"
if [ "$keep" = 1 ]; then
  echo
  echo "Left running. Try: LIBVIRT_DEFAULT_URI='$uri' virsh list --all"
  echo "Stop with: $harness stop $dir; kill \$(cat $dir/virt-alephd.pid) \$(cat $dir/devnet.pid)"
fi
