#!/usr/bin/python3
"""The Aleph SEV-SNP flow end to end: a domain tagged <aleph:sev type='snp'/> reaches "running"
on the devnet's SEV-SNP CRNs — runtime fetched and measured here, LUKS2 image built, STORE and
sev_snp INSTANCE published, the agent's report verified over TLS — and only then gets its
passphrase; every attacking CRN is refused with nothing secret sent, and the devnet's counters
say so. Run by meson (suite 'integration') as root:  test_snp_flow.py BUILDDIR
"""
import json
import os
import re
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_aleph_flow import DevnetFlowCase  # noqa: E402
from test_integration import TAG_NS, wait_for  # noqa: E402

# the attacks of the devnet's SEV-SNP CRNs (devnet/README.md), each on its own CRN
SNP_ATTACKS = ["snp-other-chip", "snp-wrong-measurement", "snp-tcb-below-floor",
               "snp-debug-policy", "snp-wrong-runtime", "snp-relay", "snp-stale-nonce",
               "snp-early-ask", "snp-replay"]
# the attacks refused inside the TLS handshake: not one application byte reaches the agent
IN_HANDSHAKE = {"snp-other-chip", "snp-wrong-measurement", "snp-tcb-below-floor",
                "snp-debug-policy", "snp-wrong-runtime", "snp-relay"}


class SnpFlow(DevnetFlowCase):
    ATTACKS = ["none"] + SNP_ATTACKS

    def tag(self, crn="auto", extra="", sev=""):
        return (f'<aleph:confidential xmlns:aleph="{TAG_NS}">'
                f'<aleph:sev type="snp" {sev}/>'
                f'<aleph:publish api="{self.devnet.ccn}" crn="{crn}" {extra} '
                'sshKey="ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB7 test@aleph"/>'
                '</aleph:confidential>')

    def instance(self, item_hash):
        found = [m for m in self.devnet.messages(self.address, "INSTANCE") if m["item_hash"] == item_hash]
        self.assertEqual(len(found), 1, found)
        return found[0]

    def vm(self, item_hash):
        """The devnet's counters of the VM on its CRN (one SNP VM per instance here)."""
        vm = self.devnet.vm(item_hash)
        self.assertIsNotNone(vm)
        return vm["vms"][0]

    def test_1_runs_attested_and_the_right_passphrase_arrives(self):
        env = self.env
        env.define("snp1", self.tag())
        self.start_daemon()
        st = self.wait_state("snp1", ["running", "failed"])
        self.assertEqual(st["state"], "running", st)
        self.assertEqual(st["crn"], self.devnet.crn("none")["hash"])
        self.assertEqual((st["attestationVerdict"], st["tee"], st["generation"]),
                         ("ok", "SEV-SNP", "Milan"), st)
        # the INSTANCE: sev_snp, the tag's policy, the devnet's runtime, the launch digests
        # computed here for each CPU model of the manifest; no firmware
        msg = self.instance(st["instance"])
        te = msg["content"]["environment"]["trusted_execution"]
        self.assertEqual((te["mode"], te["policy"], te["runtime"]),
                         ("sev_snp", 0x30000, self.devnet.info["snp"]["runtime"]), te)
        self.assertNotIn("firmware", {k for k, v in te.items() if v is not None}, te)
        self.assertEqual([m["vcpu_type"] for m in te["measurements"]],
                         ["EPYC-v4", "EPYC-Milan", "EPYC-Genoa"], te)
        for m in te["measurements"]:
            self.assertEqual(m["platform"], "sev_snp")
            self.assertRegex(m["registers"]["launch"], "^[0-9a-f]{96}$")
        # the report's launch digest (the CRN boots EPYC-v4) is the first of them
        self.assertEqual(st["measurement"], te["measurements"][0]["registers"]["launch"])
        # the image is the LUKS2 container the runtime's initrd opens, and the passphrase the
        # agent received opened it
        with open(st["imagePath"], "rb") as f:
            self.assertEqual(f.read(6), b"LUKS\xba\xbe")
            f.seek(6)
            self.assertEqual(f.read(2), b"\x00\x02")
        vm = self.vm(st["instance"])
        self.assertGreaterEqual(vm["passphrase_ok"], 1, vm)
        # the log shows what was verified, and never the passphrase
        log = env.aleph("logs", "snp1", "--config", self.config).stdout
        self.assertIn("report verified: Milan", log)
        self.assertIn("took the passphrase", log)
        self.assertNotIn(self.passphrase("snp1"), log + env.daemon_output())
        r = env.aleph("status", "snp1")
        self.assertIn("SEV-SNP", r.stdout)

    def test_2_attacks_never_get_the_secret(self):
        env = self.env
        if env.daemon is None:
            self.start_daemon()
        names = {}
        for attack in SNP_ATTACKS:
            name = "snpatk-" + attack[4:]
            names[attack] = name
            env.define(name, self.tag(crn=self.devnet.crn(attack)["hash"]))
        for attack, name in names.items():
            with self.subTest(attack=attack):
                st = self.wait_state(name, ["running", "failed"])
                self.assertEqual(st["state"], "failed", st)
                self.assertEqual(st["errorStep"], "attest", st)
                self.assertIn(st["errorCode"], {"untrusted", "mismatch", "refused", "remote"}, st)
                vm = self.vm(st["instance"])
                # nothing that carries a secret reached the agent
                self.assertEqual((vm["inject_attempts"], vm["secrets_released"], vm["passphrase_checks"]),
                                 (0, 0, 0), vm)
                if attack in IN_HANDSHAKE:
                    self.assertEqual(vm["agent_bytes"], 0, vm)
        # the attacks that are a wrong measurement say so in the verdict
        for attack in ("snp-wrong-measurement", "snp-wrong-runtime"):
            st = self.env.status(names[attack])
            self.assertEqual((st["errorCode"], st["attestationVerdict"]), ("mismatch", "mismatch"), st)

    def test_3_killed_at_every_step_resumes_with_one_store_and_one_instance(self):
        env = self.env
        env.stop_daemon()
        env.define("snpresume", self.tag())
        self.devnet.knobs({"latency_ms": 700})
        self.addCleanup(self.devnet.knobs, {"latency_ms": 0})
        killed = self.kill_at_every_step("snpresume")
        st = self.wait_state("snpresume", ["running", "failed"])
        self.assertEqual(st["state"], "running", st)
        for step in ("publish/runtime", "build", "publish/store", "publish/instance", "publish/wait",
                     "publish/notify", "attest/agent"):
            self.assertIn(step, killed, killed)
        stores = [m for m in self.devnet.messages(self.address, "STORE")
                  if m["content"].get("item_hash") == st["imageCid"]]
        self.assertEqual(len(stores), 1, stores)
        instances = [m for m in self.devnet.messages(self.address, "INSTANCE")
                     if m["content"]["rootfs"]["parent"]["ref"] == st["store"]]
        self.assertEqual(len(instances), 1, instances)
        self.assertGreaterEqual(self.vm(st["instance"])["passphrase_ok"], 1)

    def test_4_a_new_boot_gets_the_passphrase_again_verified(self):
        env = self.env
        if env.daemon is None:
            self.start_daemon()
        st = self.wait_state("snp1", ["running"])
        before = self.vm(st["instance"])["passphrase_ok"]
        r = env.aleph("reboot", "snp1", "--config", self.config)
        self.assertEqual(r.returncode, 0, r.stderr)
        # the monitor attests the agent, sees the new boot's TLS key, and unlocks that boot
        wait_for(lambda: self.vm(st["instance"])["passphrase_ok"] > before or None, 60,
                 "the new boot to get its passphrase")
        st2 = self.wait_state("snp1", ["running"])
        self.assertEqual(st2["attestationVerdict"], "ok")
        # and a boot that already has it gets nothing more, by the monitor or by hand
        time.sleep(3)
        r = env.aleph("attest", "snp1", "--config", self.config)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("the agent attested the boot the passphrase already went to", r.stdout)
        vm = self.vm(st["instance"])
        self.assertEqual(vm["passphrase_ok"], before + 1, vm)

    def test_6_erase_and_forget(self):
        env = self.env
        st = self.wait_state("snp1", ["running"])
        env.stop_daemon()  # the service would deploy the domain again right away
        # stopped, its agent is gone: attesting by hand says so and fails (the monitor waits)
        r = env.aleph("stop", "snp1", "--config", self.config)
        self.assertEqual(r.returncode, 0, r.stderr)
        r = env.aleph("attest", "snp1", "--config", self.config)
        self.assertNotEqual(r.returncode, 0, r.stdout)
        self.assertIn("nothing attested: the instance's guest agent did not answer", r.stderr)
        self.assertEqual(env.status("snp1")["state"], "stopped")
        r = env.aleph("erase", "snp1", "--config", self.config)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(env.status("snp1")["state"], "erased")
        r = env.aleph("forget", "snp1", "--image", "--config", self.config)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(env.status("snp1")["state"], "forgotten")
        forgets = [m for m in self.devnet.messages(self.address, "FORGET")
                   if st["instance"] in m["content"]["hashes"]]
        self.assertEqual(len(forgets), 1, forgets)
        self.assertEqual(forgets[0]["content"]["hashes"], [st["instance"], st["store"]])

    def test_5_no_runtime_is_refused_before_anything_is_built(self):
        env = self.env
        if env.daemon is None:
            self.start_daemon()
        stores = len(self.devnet.messages(self.address, "STORE"))
        # a runtime hash that names nothing on the network: the pre-flight says so, unbuilt
        env.define("snpnort", self.tag(sev='runtime="' + "ab" * 32 + '"'))
        st = self.wait_state("snpnort", ["failed"], 60)
        self.assertEqual(st["errorStep"], "validate", st)
        self.assertIn("runtime manifest " + "ab" * 32, st["error"])
        uuid = env.virsh("domuuid", "snpnort").stdout.strip()
        self.assertFalse(os.path.exists(os.path.join(self.state, "images", uuid + ".img")))
        self.assertEqual(len(self.devnet.messages(self.address, "STORE")), stores)
        # doctor shows the SNP settings it would use
        r = env.aleph("doctor", "--no-probe", "--config", self.config)
        self.assertRegex(r.stdout, r"snp-config\s+runtime " + re.escape(self.devnet.info["snp"]["runtime"]))


if __name__ == "__main__":
    if os.geteuid() != 0:
        print("integration tests need root (a private libvirtd)", file=sys.stderr)
        sys.exit(1)
    unittest.main(argv=[sys.argv[0], "-v"] + sys.argv[2:])
