#!/usr/bin/python3
"""The main job end to end: a tagged domain defined with virsh reaches "running" on the devnet.

A private libvirtd (our hook installed), the devnet (aleph-devnet: a CCN and CRNs with software
SEV platforms, some of them attackers), virt-alephd following libvirt's events, and the tiny
real guest disk. Run by meson (suite 'integration') as root:  test_aleph_flow.py BUILDDIR
"""
import glob
import ipaddress
import json
import os
import signal
import subprocess
import sys
import time
import unittest
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_integration import BUILD, Env, TAG_NS, VIRT_ALEPH, VIRT_ALEPHD, run, stop_process, wait_for  # noqa: E402

DEVNET = os.path.join(BUILD, "devnet", "aleph-devnet")
ATTACKS = ["none", "self-signed-chain", "swap-pdh", "other-firmware", "replay-measurement"]


def read_json_lines(proc, count, timeout):
    """@count JSON lines of @proc's standard output within @timeout seconds."""
    import select
    out, buf = [], b""
    deadline = time.monotonic() + timeout
    while len(out) < count:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"{len(out)} of {count} lines after {timeout} s: {out} {buf!r}")
        ready, _, _ = select.select([proc.stdout], [], [], left)
        if not ready:
            continue
        chunk = os.read(proc.stdout.fileno(), 65536)
        if not chunk:
            raise AssertionError(f"output ended after {len(out)} lines: {proc.stderr.read()!r}")
        buf += chunk
        while b"\n" in buf and len(out) < count:
            line, buf = buf.split(b"\n", 1)
            out.append(json.loads(line))
    return out


def get_json(url):
    with urllib.request.urlopen(url, timeout=10) as r:
        return json.load(r)


class Devnet:
    def __init__(self, directory, attacks=ATTACKS):
        self.dir = os.path.join(directory, "devnet")
        os.makedirs(self.dir, exist_ok=True)
        cfg = {
            "state_dir": os.path.join(self.dir, "state"),
            "rsa_bits": 2048,
            "crns": [{"attack": a} for a in attacks],
        }
        path = os.path.join(self.dir, "devnet.json")
        with open(path, "w") as f:
            json.dump(cfg, f)
        self.log = open(os.path.join(self.dir, "devnet.log"), "w")
        self.proc = subprocess.Popen([DEVNET, "--config", path], stdout=subprocess.PIPE,
                                     stderr=self.log, text=True)
        line = self.proc.stdout.readline()
        if not line:
            raise AssertionError("aleph-devnet did not start; see " + self.log.name)
        self.info = json.loads(line)
        self.ccn = self.info["ccn"]
        self.admin = self.info["admin"]

    def knobs(self, knobs):
        req = urllib.request.Request(f"{self.admin}/admin/knobs", data=json.dumps(knobs).encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.load(r)

    def credits(self, address, credits):
        req = urllib.request.Request(f"{self.admin}/admin/credits", data=json.dumps({address: credits}).encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.load(r)

    def crn(self, attack):
        return next(c for c in self.info["crns"] if c["attack"] == attack)

    def vm(self, item_hash):
        try:
            return get_json(f"{self.admin}/admin/vms/{item_hash}")
        except urllib.error.HTTPError:
            return None

    def messages(self, address, msg_type):
        page = get_json(f"{self.ccn}/api/v0/messages.json?addresses={address}&msgType={msg_type}&pagination=200")
        return page.get("messages", [])

    def close(self):
        stop_process(self.proc)
        self.log.close()


class DevnetFlowCase(unittest.TestCase):
    """A private libvirtd, a devnet with one CRN per attack, an account and virt-alephd's
    configuration; the helpers of the flow tests (no test of its own)."""
    ATTACKS = ATTACKS

    @classmethod
    def setUpClass(cls):
        cls.env = Env()
        cls.devnet = Devnet(cls.env.dir, cls.ATTACKS)
        d = cls.env.dir
        cls.key = os.path.join(d, "ethereum.key")
        r = run(VIRT_ALEPH, "account", "create", "--key-file", cls.key)
        cls.address = r.stdout.strip().splitlines()[-1]
        cls.state = os.path.join(d, "aleph-state")
        cls.config = os.path.join(d, "virt-alephd.conf")
        snp = cls.devnet.info["snp"]
        with open(cls.config, "w") as f:
            f.write(f"""[daemon]
monitor-interval=1
[pipeline]
state-dir={cls.state}
key-file={cls.key}
trusted-roots={cls.devnet.info['trust_root']['ark']}
snp-runtime={snp['runtime']}
snp-trusted-arks={snp['ark']}
snp-kds={snp['kds']}
poll-first-ms=100
poll-max-ms=500
timeout=60
""")

    @classmethod
    def tearDownClass(cls):
        cls.env.stop_daemon()
        cls.devnet.close()
        cls.env.close()

    def start_daemon(self):
        env = self.env
        # one virt-alephd at a time: two would run the same domain's flow side by side
        if env.daemon is not None and env.daemon.poll() is None:
            return
        with open(env.daemon_log, "a") as log:
            env.daemon = subprocess.Popen([VIRT_ALEPHD, "--foreground", "--verbose", "--connect", env.uri,
                                           "--config", self.config], stdout=log, stderr=subprocess.STDOUT)

    def wait_state(self, name, states, timeout=180):
        def done():
            st = self.env.status(name)
            return st if st is not None and st["state"] in states else None
        try:
            return wait_for(done, timeout, f"{name} to reach {states}")
        except AssertionError as e:
            raise AssertionError("%s; status %s\n--- virt-alephd log ---\n%s"
                                 % (e, self.env.status(name), self.env.daemon_output()[-6000:]))

    def kill_at_every_step(self, name):
        """Runs virt-alephd and SIGKILLs it in each step of @name's flow it had not been killed
        in yet, until the flow ends; returns the steps it was killed in."""
        env = self.env
        killed = set()
        for _ in range(40):
            self.start_daemon()

            # let it get past what was already killed, then kill it in the next new step
            def new_step():
                st = env.status(name)
                if st is None:
                    return None
                if st["state"] in ("running", "failed"):
                    return st
                return st if st["step"] not in killed else None
            st = wait_for(new_step, 180, "a new step")
            if st["state"] in ("running", "failed"):
                break
            killed.add(st["step"])
            env.daemon.send_signal(signal.SIGKILL)
            env.daemon.wait()
            env.daemon = None
        return killed

    def passphrase(self, name):
        uuid = self.env.virsh("domuuid", name).stdout.strip()
        with open(os.path.join(self.state, "domains", uuid, "state.json")) as f:
            secret = json.load(f)["build"]["secret"]
        # private in libvirt: the service reads its own copy
        r = run("virsh", "-c", self.env.uri, "secret-get-value", "--plain", secret, check=False)
        self.assertNotEqual(r.returncode, 0, "a passphrase secret is readable through libvirt")
        with open(os.path.join(self.state, "secrets", secret)) as f:
            return f.read().strip()


class AlephFlow(DevnetFlowCase):
    def tag(self, crn="auto", extra=""):
        fw = self.devnet.info["firmware"]
        return (f'<aleph:confidential xmlns:aleph="{TAG_NS}">'
                f'<aleph:firmware sha256="{fw["sha256"]}" ref="{fw["item_hash"]}"/>'
                f'<aleph:publish api="{self.devnet.ccn}" crn="{crn}" {extra} ports="22,53/udp,53/tcp" sshKey="ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB7 test@aleph"/>'
                '</aleph:confidential>')

    def test_1_runs_and_the_right_key_arrives(self):
        env = self.env
        env.define("conf1", self.tag())
        self.start_daemon()
        st = self.wait_state("conf1", ["running", "failed"])
        self.assertEqual(st["state"], "running", st)
        self.assertEqual(st["attestationVerdict"], "ok")
        self.assertEqual(st["crn"], self.devnet.crn("none")["hash"])
        self.assertTrue(st["measurement"])
        # where it runs: the CRN's URL, and the address the CRN gives the VM, with an ssh hint
        self.assertEqual(st["crnUrl"], self.devnet.crn("none")["url"])
        self.assertEqual(ipaddress.ip_address(st["ipv6"]).version, 6)
        self.assertEqual(st["ssh"], "ssh root@" + st["ipv6"])
        listed = {d["domain"]: d for d in json.loads(env.aleph("list", "--json").stdout)}
        self.assertEqual((listed["conf1"]["mode"], listed["conf1"]["ipv6"]), ("aleph", st["ipv6"]))
        # the image it built is named in the status, and is what was published
        self.assertTrue(os.path.isfile(st["imagePath"]))
        self.assertRegex(st["imageSha256"], "^[0-9a-f]{64}$")
        self.assertRegex(st["luksUuid"], "^[0-9a-f-]{36}$")
        self.assertTrue(st["imageCid"].startswith("Qm"))
        # the devnet decrypted the secret and the passphrase opened the image's LUKS header
        vm = self.devnet.vm(st["instance"])
        self.assertIsNotNone(vm)
        self.assertTrue(vm["any_secret_released"], vm)
        self.assertTrue(all(v["passphrase_ok"] >= 1 for v in vm["vms"]), vm)
        # the published ports, in the port-forwarding aggregate Aleph's client writes
        aggs = [m for m in self.devnet.messages(self.address, "AGGREGATE")
                if m["content"].get("key") == "port-forwarding" and st["instance"] in m["content"]["content"]]
        self.assertEqual(len(aggs), 1, aggs)
        self.assertEqual(aggs[0]["content"]["content"][st["instance"]]["ports"],
                         {"22": {"tcp": True, "udp": False}, "53": {"tcp": True, "udp": True}})
        # the status names everything the user needs, and the CLI shows it
        r = env.aleph("status", "conf1")
        self.assertIn("running", r.stdout)
        self.assertIn(st["instance"], r.stdout)

    def test_2_attacks_never_get_the_secret(self):
        env = self.env
        if env.daemon is None:
            self.start_daemon()
        # the replaying CRN first serves one genuine launch, whose measurement it replays later
        env.define("victim", self.tag(crn=self.devnet.crn("replay-measurement")["hash"]))
        st = self.wait_state("victim", ["running", "failed"])
        self.assertEqual(st["state"], "running", st)
        # what each attack must be refused as: the chain (untrusted) or the launch (mismatch)
        expected = {"self-signed-chain": {"untrusted"}, "swap-pdh": {"untrusted", "mismatch"},
                    "other-firmware": {"mismatch"}, "replay-measurement": {"mismatch"}}
        for attack in ATTACKS[1:]:
            name = "atk-" + attack.split("-")[0]
            with self.subTest(attack=attack):
                env.define(name, self.tag(crn=self.devnet.crn(attack)["hash"]))
                st = self.wait_state(name, ["running", "failed"])
                self.assertEqual(st["state"], "failed", st)
                self.assertEqual(st["errorStep"], "attest", st)
                self.assertIn(st["errorCode"], expected[attack], st)
                vm = self.devnet.vm(st["instance"])
                self.assertTrue(vm is None or not vm["any_secret_released"], vm)
                # doctor explains the failed attestation
                r = env.aleph("doctor", "--no-probe", "--config", self.config, name)
                self.assertNotEqual(r.returncode, 0)
                self.assertIn("attestation", r.stdout)

    def test_3_invalid_tag_is_refused_before_anything_is_built_or_uploaded(self):
        env = self.env
        before = len(self.devnet.messages(self.address, "STORE"))
        bad = self.tag().replace('crn="auto"', 'crn="auto" memory="7"')
        env.define("badpub", bad)
        if env.daemon is None:
            self.start_daemon()
        st = self.wait_state("badpub", ["invalid"], 30)
        self.assertIn("memory", st["error"])
        time.sleep(2)
        self.assertEqual(len(self.devnet.messages(self.address, "STORE")), before)
        uuid = env.virsh("domuuid", "badpub").stdout.strip()
        self.assertFalse(os.path.exists(os.path.join(self.state, "images", uuid + ".img")))

    def test_11_payment_checked_before_the_build_and_rejections_named(self):
        env = self.env
        if env.daemon is None:
            self.start_daemon()
        stores = len(self.devnet.messages(self.address, "STORE"))
        # a hold INSTANCE is refused by the network since 2026-03-11: refused here, unbuilt
        env.define("payhold", self.tag(extra='payment="hold"'))
        st = self.wait_state("payhold", ["failed"], 60)
        self.assertIn("2026-03-11", st["error"])
        uuid = env.virsh("domuuid", "payhold").stdout.strip()
        self.assertFalse(os.path.exists(os.path.join(self.state, "images", uuid + ".img")))
        # too few credits for one hour: both numbers, in seconds, nothing built or uploaded
        self.devnet.credits(self.address, 3)
        try:
            t0 = time.monotonic()
            env.define("paypoor", self.tag())
            st = self.wait_state("paypoor", ["failed"], 60)
            self.assertLess(time.monotonic() - t0, 30)
            self.assertIn("has 3 credits", st["error"])
            # one hour: 10 for the vCPU, 1 for the image's first GiB (the devnet's prices)
            self.assertIn("estimates 11 credits", st["error"])
            uuid = env.virsh("domuuid", "paypoor").stdout.strip()
            self.assertFalse(os.path.exists(os.path.join(self.state, "images", uuid + ".img")))
        finally:
            self.devnet.credits(self.address, 1000000)
        self.assertEqual(len(self.devnet.messages(self.address, "STORE")), stores)
        # the network rejects a hold STORE (its cutoff moved into the past on the devnet): the
        # status names the code; fixed in the tag, the flow goes on and reaches running
        self.devnet.knobs({"payment_cutoffs": {"store_hold": "2020-01-01"}})
        try:
            env.define("payfix", self.tag(extra='storePayment="hold"'))
            st = self.wait_state("payfix", ["failed"], 180)
            self.assertIn("202", st["error"])
            self.assertIn("PAYMENT_REFUSED", st["error"])
            fixed = self.tag().replace(f' xmlns:aleph="{TAG_NS}"', "").replace("aleph:", "")
            env.virsh("metadata", "payfix", TAG_NS, "--key", "aleph", "--config", "--set", fixed)
            st = self.wait_state("payfix", ["running"], 180)
        finally:
            self.devnet.knobs({"payment_cutoffs": {"store_hold": "2027-01-01"}})
        inst = [m for m in self.devnet.messages(self.address, "INSTANCE") if m["item_hash"] == st["instance"]]
        self.assertEqual(len(inst), 1)
        self.assertEqual(inst[0]["content"]["payment"]["type"], "credit")

    def test_4_killed_at_every_step_resumes_with_one_store_and_one_instance(self):
        env = self.env
        env.stop_daemon()
        env.define("resume", self.tag())
        # every request to the network takes a while, so that each step can be caught
        self.devnet.knobs({"latency_ms": 700})
        self.addCleanup(self.devnet.knobs, {"latency_ms": 0})
        killed = self.kill_at_every_step("resume")
        st = self.wait_state("resume", ["running", "failed"])
        self.assertEqual(st["state"], "running", st)
        # killed in every step that talks to the network, and while building
        for step in ("build", "publish/store", "publish/crn", "publish/instance", "publish/wait",
                     "publish/notify", "attest/chain", "attest/measurement", "attest/inject"):
            self.assertIn(step, killed, killed)
        # exactly one STORE of this image and one INSTANCE of this domain on the devnet
        stores = [m for m in self.devnet.messages(self.address, "STORE")
                  if m["content"].get("item_hash") == st["imageCid"]]
        self.assertEqual(len(stores), 1, stores)
        instances = [m for m in self.devnet.messages(self.address, "INSTANCE")
                     if m["content"]["rootfs"]["parent"]["ref"] == st["store"]]
        self.assertEqual(len(instances), 1, instances)
        # and the launch was attested once: one secret, which opened the image
        vm = self.devnet.vm(st["instance"])
        self.assertEqual(vm["secrets_released"], 1, vm)

    def test_6_crn_reboot_is_attested_again(self):
        env = self.env
        if env.daemon is None:
            self.start_daemon()
        st = self.wait_state("conf1", ["running"])
        before = self.devnet.vm(st["instance"])["secrets_released"]
        r = env.aleph("reboot", "conf1", "--config", self.config)
        self.assertEqual(r.returncode, 0, r.stderr)
        # the monitor notices the new launch waiting for a secret, verifies it, injects again
        def reattested():
            vm = self.devnet.vm(st["instance"])
            return vm if vm["secrets_released"] > before else None
        vm = wait_for(reattested, 60, "the rebooted VM to get its secret again")
        self.assertTrue(all(v["passphrase_ok"] >= 1 for v in vm["vms"]), vm)
        st2 = self.wait_state("conf1", ["running"])
        self.assertNotEqual(st2["measurement"], st["measurement"])
        # the VM's own console from its CRN (aleph instance logs), not the pipeline's log:
        # two launches, each waiting for and then given its secret
        r = env.aleph("console", "conf1", "--config", self.config)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertGreaterEqual(r.stdout.count("SEV launch started"), 2, r.stdout)
        self.assertEqual(r.stdout.count("launch secret injected"), r.stdout.count("SEV launch started"),
                         r.stdout)
        self.assertTrue(r.stdout.rstrip("\n").endswith("devnet-guest login: "), r.stdout)
        self.assertNotIn("attest:", r.stdout)  # a pipeline log line
        doc = json.loads(env.aleph("--json", "console", "conf1", "--config", self.config).stdout)
        self.assertEqual((doc["domain"], doc["instance"], doc["crnUrl"]),
                         ("conf1", st["instance"], self.devnet.crn("none")["url"]))
        self.assertEqual([l["message"] for l in doc["lines"]], r.stdout.splitlines())
        self.assertTrue(all(l["stream"] in ("stdout", "stderr") and l["time"] for l in doc["lines"]))
        # --follow: what is there, then the lines of a new reboot as they come
        follow = subprocess.Popen([VIRT_ALEPH, "-c", env.uri, "--json", "console", "conf1", "--follow",
                                   "--interval", "1", "--config", self.config],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            first = read_json_lines(follow, len(doc["lines"]), 30)
            self.assertEqual([e["message"] for e in first], r.stdout.splitlines())
            self.assertEqual({e["event"] for e in first}, {"console"})
            self.assertEqual(env.aleph("reboot", "conf1", "--config", self.config).returncode, 0)
            more = read_json_lines(follow, 2, 60)
            self.assertIn("SEV launch started", more[0]["message"])
            self.assertIn("launch secret injected", more[1]["message"])
        finally:
            follow.kill()
            follow.communicate()
        self.wait_state("conf1", ["running"])
        # by hand: nothing waits for a secret any more, and none is sent
        released = self.devnet.vm(st["instance"])["secrets_released"]
        r = env.aleph("attest", "conf1", "--config", self.config)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("Nothing waits for a secret", r.stdout)
        self.assertEqual(self.devnet.vm(st["instance"])["secrets_released"], released)

    def test_8_replayed_measurement_after_reboot_is_refused(self):
        env = self.env
        if env.daemon is None:
            self.start_daemon()
        # 'victim' (test 2) runs on the replaying CRN; after a reboot that CRN presents the
        # measurement already answered, which the same session's TIK still verifies
        st = self.wait_state("victim", ["running"])
        before = self.devnet.vm(st["instance"])["secrets_released"]
        r = env.aleph("reboot", "victim", "--config", self.config)
        self.assertEqual(r.returncode, 0, r.stderr)
        st = self.wait_state("victim", ["failed"], 60)
        self.assertEqual(st["errorCode"], "mismatch", st)
        self.assertIn("already answered", st["error"])
        time.sleep(3)
        self.assertEqual(self.devnet.vm(st["instance"])["secrets_released"], before)

    def test_9_erase_and_forget(self):
        env = self.env
        st = env.status("conf1")
        uuid = env.virsh("domuuid", "conf1").stdout.strip()
        tik = os.path.join(self.state, "domains", uuid, "vm_tik.bin")
        self.assertTrue(os.path.exists(tik))
        env.stop_daemon()  # the service would deploy the domain again right away
        # stop (aleph instance stop): the VM ends on its CRN, its console says so
        r = env.aleph("stop", "conf1", "--config", self.config)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(env.status("conf1")["state"], "stopped")
        r = env.aleph("console", "conf1", "--config", self.config)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue(r.stdout.rstrip("\n").endswith("qemu: terminating on signal 15"), r.stdout)
        r = env.aleph("erase", "conf1", "--config", self.config)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(env.status("conf1")["state"], "erased")
        # the session keys end with the instance
        self.assertFalse(os.path.exists(tik))
        r = env.aleph("forget", "conf1", "--config", self.config, "--reason", "test over")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(env.status("conf1")["state"], "forgotten")
        forgets = [m for m in self.devnet.messages(self.address, "FORGET")
                   if st["instance"] in m["content"]["hashes"]]
        self.assertEqual(len(forgets), 1, forgets)
        self.assertEqual(forgets[0]["content"]["reason"], "test over")
        r = env.aleph("forget", "conf1", "--config", self.config)
        self.assertEqual(r.returncode, 10, r.stdout + r.stderr)  # nothing left to forget
        # delete = erase + forget, on the domain test 4 left running: the instance erased from
        # its CRN, then one FORGET naming the instance and (--image) the image's STORE
        st = env.status("resume")
        self.assertEqual(st["state"], "running", st)
        r = env.aleph("--json", "delete", "resume", "--image", "--reason", "deleted", "--config", self.config)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        events = [json.loads(line) for line in r.stdout.splitlines()]
        result = events[-1]
        self.assertEqual((result["event"], result["command"], result["domain"]),
                         ("result", "delete", "resume"), result)
        self.assertEqual(result["forgotten"], [st["instance"], st["store"]], result)
        self.assertIn("erased", [e.get("state") for e in events if e["event"] == "status"], events)
        self.assertEqual(env.status("resume")["state"], "forgotten")
        forgets = [m for m in self.devnet.messages(self.address, "FORGET")
                   if st["instance"] in m["content"]["hashes"]]
        self.assertEqual(len(forgets), 1, forgets)
        self.assertEqual(forgets[0]["content"]["hashes"], [st["instance"], st["store"]])
        self.assertEqual(forgets[0]["content"]["reason"], "deleted")
        self.assertEqual(forgets[0]["item_hash"], result["forgetMessage"])
        log = env.aleph("logs", "resume", "--config", self.config).stdout
        self.assertLess(log.index("erase: done on CRN"), log.index("forget: FORGET"), log)
        # nothing left on a CRN: the erase refuses, and no second FORGET is posted
        r = env.aleph("delete", "resume", "--config", self.config)
        self.assertEqual(r.returncode, 10, r.stdout + r.stderr)
        self.assertIn("erase failed, no FORGET posted", r.stderr)
        self.assertEqual(len([m for m in self.devnet.messages(self.address, "FORGET")
                              if st["instance"] in m["content"]["hashes"]]), 1)

    def test_10_build_publishes_what_a_template_asks(self):
        tpl = os.path.join(self.env.dir, "publish.json")
        t = {"source": {"type": "image", "path": os.path.join(self.env.guest, "disk.img")},
             "disk": {"size": "256MiB"},
             "output": {"path": os.path.join(self.env.dir, "built.img")},
             "publish": {"api": self.devnet.ccn, "account": self.key}}
        with open(tpl, "w") as f:
            json.dump(t, f)
        # for Aleph's SEV firmware (grub-luks1) without the aleph provisioner: refused before
        # anything is built or posted, naming the step to add
        before = len(self.devnet.messages(self.address, "STORE"))
        r = run(VIRT_ALEPH, "build", tpl, "--passphrase-out", os.path.join(self.env.dir, "pw0"), check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn('{ "type": "aleph" }', r.stderr)
        self.assertFalse(os.path.exists(os.path.join(self.env.dir, "built.img")))
        self.assertEqual(len(self.devnet.messages(self.address, "STORE")), before)
        # for SEV-SNP (luks2-root: the runtime's initrd opens it) no aleph provisioner is needed
        t["disk"]["layout"] = "luks2-root"
        with open(tpl, "w") as f:
            json.dump(t, f)
        r = run(VIRT_ALEPH, "build", tpl, "--json", "--passphrase-out", os.path.join(self.env.dir, "pw"), check=False)
        self.assertEqual(r.returncode, 0, r.stderr)
        out = json.loads(r.stdout)
        stores = [m for m in self.devnet.messages(self.address, "STORE") if m["item_hash"] == out["store"]]
        self.assertEqual(len(stores), 1)
        self.assertEqual(stores[0]["content"]["item_hash"], out["cid"])
        # what to do with it: the STORE hash, the stored content, how an instance uses it
        pub = out["publish"]
        self.assertEqual(pub["store"], out["store"])
        self.assertEqual(pub["item_hash"], out["cid"])
        self.assertEqual(pub["api"], self.devnet.ccn)
        self.assertEqual(pub["layout"], "luks2-root")
        self.assertEqual(pub["tag"], f"<aleph:publish rootfs='{out['store']}'/>")
        self.assertIn(f"--rootfs {out['store']}", pub["usage"])
        # the same in words, on a text build
        r = run(VIRT_ALEPH, "build", tpl, "--force", "--passphrase-out", os.path.join(self.env.dir, "pw1"), check=False)
        self.assertEqual(r.returncode, 0, r.stderr)
        store = [l for l in r.stderr.splitlines() if l.startswith("published with STORE ")]
        self.assertEqual(len(store), 1, r.stderr)
        h = store[0].split()[3]
        self.assertEqual(len(h), 64)
        self.assertIn(f"--rootfs {h}", r.stderr)
        self.assertTrue([m for m in self.devnet.messages(self.address, "STORE") if m["item_hash"] == h])
        # a member the schema does not have (the STORE pins the image) is refused, naming it
        with open(tpl) as f:
            t = json.load(f)
        t["publish"]["pin"] = True
        with open(tpl, "w") as f:
            json.dump(t, f)
        r = run(VIRT_ALEPH, "build", tpl, "--force", "--passphrase-out", os.path.join(self.env.dir, "pw2"), check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("publish.pin", r.stderr)

    def test_7_libvirtd_restart_mid_flow(self):
        env = self.env
        if env.daemon is None:
            self.start_daemon()
        env.define("restart", self.tag())
        wait_for(lambda: (s := env.status("restart")) and s["state"] == "publishing", 120, "publishing")
        run(os.path.join(os.path.dirname(os.path.abspath(__file__)), "libvirtd.sh"), "restart", env.dir, BUILD)
        st = self.wait_state("restart", ["running", "failed"])
        self.assertEqual(st["state"], "running", st)
        self.assertIsNone(env.daemon.poll(), "virt-alephd exited")

    def test_5_passphrase_never_leaks(self):
        env = self.env
        secret = self.passphrase("conf1")
        self.assertGreaterEqual(len(secret), 16)
        places = [env.daemon_log, os.path.join(env.dir, "log", "libvirt", "libvirtd.log")]
        places += glob.glob(os.path.join(self.state, "**"), recursive=True)
        places += glob.glob(os.path.join(self.devnet.dir, "**"), recursive=True)
        copies = os.path.join(self.state, "secrets")
        for path in places:
            # the service's passphrase copies (0600) are the one place it belongs
            if not os.path.isfile(path) or os.path.dirname(path) == copies:
                continue
            with open(path, "rb") as f:
                self.assertNotIn(secret.encode(), f.read(), path)
        for name in ("conf1", "resume"):
            self.assertNotIn(secret, env.virsh("dumpxml", name).stdout)
        # nor any process's argv
        for cmdline in glob.glob("/proc/[0-9]*/cmdline"):
            try:
                with open(cmdline, "rb") as f:
                    self.assertNotIn(secret.encode(), f.read())
            except OSError:
                pass


if __name__ == "__main__":
    if os.geteuid() != 0:
        print("integration tests need root (a private libvirtd)", file=sys.stderr)
        sys.exit(1)
    unittest.main(argv=[sys.argv[0], "-v"] + sys.argv[2:])
