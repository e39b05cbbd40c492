#!/usr/bin/python3
"""What aleph-client users already have, taken over on the devnet.

An encrypted SEV image (GPT, LUKS1 partition 2) is uploaded with a STORE and an INSTANCE of it
is posted and allocated, signed by the test account, as `aleph instance create --confidential`
does (virt-aleph ipfs upload, message build/send, the CRN's notify). Then:
- `virt-aleph tag --rootfs HASH --passphrase-file F` checks the passphrase against the image
  before it writes anything: a wrong one, or an image that cannot be fetched, leaves no tag and
  no secret;
- <aleph:publish rootfs> with a wrong passphrase stops in the pre-flight, nothing posted; with
  the right one (--passphrase-file) the flow runs without a build or a STORE of its own;
- only the header's bytes of the image are fetched (HTTP Range): an image larger than the
  bound of a whole read is adopted; a server that ignores Range still serves a small one (read
  whole, its hash checked) and refuses a large one with an error that says why;
- the same for SEV-SNP: <aleph:publish rootfs> of a LUKS2 image (the SNP layout) reaches running
  with the passphrase sent after the agent's report is verified, and an sev_snp INSTANCE made
  by hand is adopted, attested and erased;
- virt-aleph adopt attaches the INSTANCE to a domain (refusing one of another account, and a tag
  that does not describe it); status, attest, reboot, erase, forget, delete work on it.
Run by meson (suite 'integration') as root:  test_adopt.py BUILDDIR
"""
import json
import os
import subprocess
import sys
import unittest
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_integration import TAG_NS, VIRT_ALEPH, run, wait_for  # noqa: E402
from test_aleph_flow import DevnetFlowCase  # noqa: E402

PASS = "an aleph-client user's passphrase"


class Adopt(DevnetFlowCase):
    ATTACKS = ["none"]

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        d = cls.env.dir
        cls.pass_file = os.path.join(d, "image.pass")
        with open(cls.pass_file, "w") as f:
            f.write(PASS + "\n")
        os.chmod(cls.pass_file, 0o600)
        cls.wrong_file = os.path.join(d, "wrong.pass")
        with open(cls.wrong_file, "w") as f:
            f.write("not the passphrase\n")
        os.chmod(cls.wrong_file, 0o600)
        cls.image = cls.make_image(os.path.join(d, "client.img"))
        r = run(VIRT_ALEPH, "--json", "ipfs", "upload", cls.image, "--engine", "storage",
                "--api", cls.devnet.ccn, "--key-file", cls.key)
        cls.store = json.loads(r.stdout)["store"]
        cls.other_key = os.path.join(d, "other.key")
        run(VIRT_ALEPH, "account", "create", "--key-file", cls.other_key)

    @staticmethod
    def make_image(img, size="5M"):
        """A GPT disk (5 MiB, sparse beyond), partition 2 LUKS1 (as Aleph's SEV firmware and
        GRUB open it)."""
        p2, key = img + ".p2", img + ".key"
        run("truncate", "-s", size, img)
        subprocess.run(["sfdisk", "-q", img], input="label: gpt\nstart=2048, size=2048, type=U\n"
                       "start=4096, type=L\n", text=True, check=True, capture_output=True)
        run("truncate", "-s", "2M", p2)
        with open(key, "w") as f:
            f.write(PASS)
        run("cryptsetup", "luksFormat", "--batch-mode", "--type", "luks1",
            "--pbkdf-force-iterations", "1000", "--key-file", key, p2)
        os.unlink(key)
        run("dd", "status=none", "bs=512", "seek=4096", "conv=notrunc", "if=" + p2, "of=" + img)
        os.unlink(p2)
        return img

    @staticmethod
    def make_luks2_image(img):
        """The SEV-SNP layout: a LUKS2 container from the first byte, aes-xts-plain64."""
        key = img + ".key"
        run("truncate", "-s", "20M", img)
        with open(key, "w") as f:
            f.write(PASS)
        run("cryptsetup", "luksFormat", "--batch-mode", "--type", "luks2", "--cipher",
            "aes-xts-plain64", "--pbkdf", "pbkdf2", "--pbkdf-force-iterations", "1000",
            "--key-file", key, img)
        os.unlink(key)
        return img

    def snp_store(self):
        """The STORE of a LUKS2 image (uploaded once)."""
        if getattr(type(self), "_snp_store", None) is None:
            img = self.make_luks2_image(os.path.join(self.env.dir, "snp.img"))
            r = run(VIRT_ALEPH, "--json", "ipfs", "upload", img, "--engine", "storage",
                    "--api", self.devnet.ccn, "--key-file", self.key)
            type(self)._snp_store = json.loads(r.stdout)["store"]
        return type(self)._snp_store

    def snp_measurements(self):
        """The measurements of an sev_snp INSTANCE of this account (test_7's), made if none."""
        def posted():
            return [m["content"]["environment"]["trusted_execution"]["measurements"]
                    for m in self.devnet.messages(self.address, "INSTANCE")
                    if m["content"]["environment"]["trusted_execution"].get("mode") == "sev_snp"
                    and m["content"]["resources"]["vcpus"] == 1]
        if not posted():
            self.env.define("snpmeasure", self.snp_tag(self.snp_store()))
            r = self.env.aleph("apply", "snpmeasure", "--config", self.config,
                               "--passphrase-file", self.pass_file)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        return posted()[0]

    def snp_tag(self, store):
        return (f'<aleph:confidential xmlns:aleph="{TAG_NS}"><aleph:sev type="snp"/>'
                f'<aleph:publish api="{self.devnet.ccn}" crn="auto" rootfs="{store}"'
                ' sshKey="ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB7 test@aleph"/>'
                '</aleph:confidential>')

    def tag(self, extra=""):
        fw = self.devnet.info["firmware"]
        return (f'<aleph:confidential xmlns:aleph="{TAG_NS}">'
                f'<aleph:firmware sha256="{fw["sha256"]}" ref="{fw["item_hash"]}"/>'
                f'<aleph:publish api="{self.devnet.ccn}" crn="auto" rootfs="{self.store}" {extra}'
                ' sshKey="ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB7 test@aleph"/>'
                '</aleph:confidential>')

    def client_instance(self, key, name, store=None, te=None, size_mib=5):
        """An INSTANCE of the image, posted and allocated as aleph-client does; its hash.
        @te: its trusted_execution (default: SEV with the devnet's firmware)."""
        fw = self.devnet.info["firmware"]
        crn = self.devnet.crn("none")
        store = store or self.store
        content = {
            "allow_amend": False, "metadata": {"name": name},
            "authorized_keys": ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB7 test@aleph"],
            "variables": None,
            "environment": {"internet": True, "aleph_api": True, "hypervisor": "qemu",
                            "trusted_execution": te or {"firmware": fw["item_hash"], "policy": 1},
                            "reproducible": False, "shared_cache": False},
            "resources": {"vcpus": 1, "memory": 512, "seconds": 30, "published_ports": None},
            "payment": {"chain": "ETH", "receiver": None, "type": "credit"},
            "requirements": {"node": {"node_hash": crn["hash"]}},
            "volumes": [],
            "rootfs": {"parent": {"ref": store, "use_latest": True}, "persistence": "host",
                       "size_mib": size_mib},
        }
        src = os.path.join(self.env.dir, name + ".content.json")
        msg = os.path.join(self.env.dir, name + ".msg.json")
        with open(src, "w") as f:
            json.dump(content, f)
        run(VIRT_ALEPH, "message", "build", "INSTANCE", src, "--key-file", key, "-o", msg, "-f")
        run(VIRT_ALEPH, "message", "send", msg, "--api", self.devnet.ccn)
        with open(msg) as f:
            item_hash = json.load(f)["item_hash"]
        req = urllib.request.Request(crn["url"] + "/control/allocation/notify",
                                     data=json.dumps({"instance": item_hash}).encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")
        with urllib.request.urlopen(req, timeout=30) as r:
            self.assertEqual(r.status, 200)
        return item_hash

    def dom_state(self, name):
        uuid = self.env.virsh("domuuid", name).stdout.strip()
        with open(os.path.join(self.state, "domains", uuid, "state.json")) as f:
            return json.load(f)

    def tag_args(self, name, rootfs, pass_file):
        fw = self.devnet.info["firmware"]
        return ["tag", name, "--firmware-sha256", fw["sha256"], "--firmware-ref", fw["item_hash"],
                "--api", self.devnet.ccn, "--crn", "auto", "--rootfs", rootfs,
                "--ssh-key", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB7 test@aleph",
                "--passphrase-file", pass_file, "--config", self.config]

    def rootfs_secrets(self, store):
        """The UUIDs of the libvirt secrets of usage volume aleph-rootfs:STORE."""
        out = run("virsh", "-q", "-c", self.env.uri, "secret-list").stdout
        return [line.split()[0] for line in out.splitlines() if "aleph-rootfs:" + store in line]

    def tagged(self, name):
        r = self.env.aleph("--json", "status", name)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        return json.loads(r.stdout)["tagged"]

    def test_0_tag_checks_the_passphrase_before_writing_anything(self):
        env = self.env
        env.define("tagpass")
        self.assertEqual(self.rootfs_secrets(self.store), [])
        # a wrong passphrase: an error naming the file and the image, no tag, no secret
        r = env.aleph(*self.tag_args("tagpass", self.store, self.wrong_file))
        self.assertNotEqual(r.returncode, 0, r.stdout)
        self.assertIn("opens no key slot", r.stderr)
        self.assertIn(self.wrong_file, r.stderr)
        self.assertIn(self.store, r.stderr)
        self.assertNotIn("not the passphrase", r.stderr + r.stdout)
        self.assertFalse(self.tagged("tagpass"))
        self.assertEqual(self.rootfs_secrets(self.store), [])
        # the right passphrase with a second line under it: which line is meant is the user's
        # to say; refused before the image is fetched, no tag, no secret
        two = os.path.join(env.dir, "two-lines.pass")
        with open(self.pass_file) as f, open(two, "w") as out:
            out.write(f.read().rstrip("\n") + "\nan old passphrase\n")
        os.chmod(two, 0o600)
        r = env.aleph(*self.tag_args("tagpass", self.store, two))
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
        self.assertIn(two + " holds more than one line", r.stderr)
        self.assertNotIn("old passphrase", r.stderr + r.stdout)
        self.assertFalse(self.tagged("tagpass"))
        self.assertEqual(self.rootfs_secrets(self.store), [])
        # an image the network does not have: the same
        missing = "5e" * 32
        r = env.aleph(*self.tag_args("tagpass", missing, self.pass_file))
        self.assertNotEqual(r.returncode, 0, r.stdout)
        self.assertIn(missing, r.stderr)
        self.assertIn(self.pass_file, r.stderr)
        self.assertFalse(self.tagged("tagpass"))
        self.assertEqual(self.rootfs_secrets(missing), [])
        # the right one: the secret is stored, then the tag set
        r = env.aleph(*self.tag_args("tagpass", self.store, self.pass_file))
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertTrue(self.tagged("tagpass"))
        secrets = self.rootfs_secrets(self.store)
        self.assertEqual(len(secrets), 1)
        # the next tests start without it
        env.virsh("secret-undefine", secrets[0])
        env.virsh("undefine", "tagpass")

    def test_1_rootfs_wrong_passphrase_stops_before_anything_is_posted(self):
        env = self.env
        env.define("rootwrong", self.tag())
        before = {t: len(self.devnet.messages(self.address, t)) for t in ("STORE", "INSTANCE")}
        r = env.aleph("apply", "rootwrong", "--config", self.config,
                      "--passphrase-file", self.wrong_file)
        self.assertNotEqual(r.returncode, 0, r.stdout)
        self.assertIn("opens no key slot", r.stderr)
        self.assertIn(self.store, r.stderr)
        self.assertNotIn("not the passphrase", r.stderr + r.stdout)
        secrets = run("virsh", "-c", env.uri, "secret-list").stdout
        self.assertNotIn("aleph-rootfs:" + self.store, secrets)
        # without any passphrase: the pre-flight names what to give
        r = env.aleph("apply", "rootwrong", "--config", self.config)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("--passphrase-file", r.stderr)
        after = {t: len(self.devnet.messages(self.address, t)) for t in ("STORE", "INSTANCE")}
        self.assertEqual(before, after)
        self.assertNotIn("instance", self.dom_state("rootwrong"))

    def test_2_rootfs_runs_without_a_build_or_a_store(self):
        env = self.env
        env.define("rootok", self.tag())
        stores = len(self.devnet.messages(self.address, "STORE"))
        r = env.aleph("apply", "rootok", "--config", self.config,
                      "--passphrase-file", self.pass_file)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        st = env.status("rootok")
        self.assertEqual(st["state"], "running", st)
        self.assertEqual(st["store"], self.store)
        self.assertEqual(len(self.devnet.messages(self.address, "STORE")), stores)
        inst = [m for m in self.devnet.messages(self.address, "INSTANCE")
                if m["item_hash"] == st["instance"]]
        self.assertEqual(inst[0]["content"]["rootfs"]["parent"]["ref"], self.store)
        self.assertEqual(inst[0]["content"]["rootfs"]["size_mib"], 5)
        # the right key arrived: the devnet opened the image's LUKS header with it
        vm = self.devnet.vm(st["instance"])
        self.assertTrue(all(v["passphrase_ok"] >= 1 for v in vm["vms"]), vm)
        # nothing was built
        uuid = env.virsh("domuuid", "rootok").stdout.strip()
        self.assertFalse(os.path.exists(os.path.join(self.state, "images", uuid + ".img")))
        # the secret's rule: usage volume aleph-rootfs:<STORE hash>, private
        secret = self.dom_state("rootok")["build"]["secret"]
        xml = run("virsh", "-c", env.uri, "secret-dumpxml", secret).stdout
        self.assertIn(f"<volume>aleph-rootfs:{self.store}</volume>", xml)
        self.assertIn("private='yes'", xml.replace('"', "'"))
        # delete never forgets the image the user brought
        r = env.aleph("delete", "rootok", "--image", "--config", self.config)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        forgets = [m for m in self.devnet.messages(self.address, "FORGET")
                   if st["instance"] in m["content"]["hashes"]]
        self.assertEqual(forgets[0]["content"]["hashes"], [st["instance"]])

    def test_3_adopt_refuses_what_is_not_ours_or_not_the_tag(self):
        env = self.env
        env.define("adoptbad", self.tag())
        theirs = self.client_instance(self.other_key, "theirs")
        r = env.aleph("adopt", "adoptbad", theirs, "--config", self.config,
                      "--passphrase-file", self.pass_file)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("not by this account", r.stderr)
        # a tag that builds its own image does not describe the INSTANCE: the command to tag it
        ours = self.client_instance(self.key, "oursbad")
        env.define("adoptnotag", self.tag().replace(f' rootfs="{self.store}"', ""))
        r = env.aleph("adopt", "adoptnotag", ours, "--config", self.config)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn(f"--rootfs {self.store}", r.stderr)
        self.assertNotIn("instance", self.dom_state("adoptnotag"))

    def test_4_adopted_instance_is_attested_rebooted_erased_forgotten(self):
        env = self.env
        env.define("adopted", self.tag())
        instance = self.client_instance(self.key, "adopted")
        before = {t: len(self.devnet.messages(self.address, t)) for t in ("STORE", "INSTANCE")}
        r = env.aleph("adopt", "adopted", instance, "--config", self.config,
                      "--passphrase-file", self.pass_file)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        # again: nothing changes
        r = env.aleph("adopt", "adopted", instance, "--config", self.config)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        st = self.dom_state("adopted")
        self.assertEqual(st["instance"]["hash"], instance)
        self.assertEqual(st["crn"]["hash"], self.devnet.crn("none")["hash"])
        # attest: the launch checked, then the passphrase sent; status shows it running
        r = env.aleph("attest", "adopted", "--config", self.config)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("Attested and sent the passphrase", r.stdout)
        # the flow has nothing left to do
        r = env.aleph("apply", "adopted", "--config", self.config)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        status = env.status("adopted")
        self.assertEqual((status["state"], status["instance"]), ("running", instance), status)
        vm = self.devnet.vm(instance)
        self.assertTrue(vm["any_secret_released"], vm)
        self.assertTrue(all(v["passphrase_ok"] >= 1 for v in vm["vms"]), vm)
        # nothing was posted by the adoption or the attestation
        after = {t: len(self.devnet.messages(self.address, t)) for t in ("STORE", "INSTANCE")}
        self.assertEqual(before, after)
        # reboot: the new launch waits for its secret; attest (virt-alephd's monitor does the
        # same) checks it again before sending it
        released = vm["secrets_released"]
        r = env.aleph("reboot", "adopted", "--config", self.config)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

        def reattested():
            r = env.aleph("attest", "adopted", "--config", self.config)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            return "Attested and sent" in r.stdout
        wait_for(reattested, 60, "the rebooted VM to be attested again")
        vm = self.devnet.vm(instance)
        self.assertGreater(vm["secrets_released"], released)
        self.assertTrue(all(v["passphrase_ok"] >= 1 for v in vm["vms"]), vm)
        # erase, then forget (the INSTANCE only: the image is the user's)
        r = env.aleph("erase", "adopted", "--config", self.config)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(env.status("adopted")["state"], "erased")
        r = env.aleph("--json", "forget", "adopted", "--image", "--config", self.config,
                      "--reason", "adopted")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        # the result names what the FORGET forgot: the INSTANCE, not the user's STORE
        result = json.loads(r.stdout.splitlines()[-1])
        self.assertEqual(result["forgotten"], [instance], result)
        self.assertEqual(result["store"], self.store, result)
        forgets = [m for m in self.devnet.messages(self.address, "FORGET")
                   if instance in m["content"]["hashes"]]
        self.assertEqual([f["content"]["hashes"] for f in forgets], [[instance]])

    def test_5_adopted_instance_deleted(self):
        env = self.env
        env.define("adoptdel", self.tag())
        instance = self.client_instance(self.key, "adoptdel")
        r = env.aleph("adopt", "adoptdel", instance, "--config", self.config)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        r = env.aleph("delete", "adoptdel", "--config", self.config, "--reason", "gone")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        forgets = [m for m in self.devnet.messages(self.address, "FORGET")
                   if instance in m["content"]["hashes"]]
        self.assertEqual(len(forgets), 1, forgets)

    def test_6_rootfs_header_read_in_parts_and_without_range(self):
        env = self.env
        # 300 MiB, more than the 256 MiB a whole read takes: sparse here, the bytes that the
        # pre-flight reads are the first MiB and partition 2's LUKS header
        big = self.make_image(os.path.join(self.env.dir, "big.img"), "300M")
        r = run(VIRT_ALEPH, "--json", "ipfs", "upload", big, "--engine", "storage",
                "--api", self.devnet.ccn, "--key-file", self.key)
        big_store = json.loads(r.stdout)["store"]
        os.unlink(big)
        tag = self.tag().replace(f'rootfs="{self.store}"', f'rootfs="{big_store}"')
        env.define("rootbig", tag)
        r = env.aleph("apply", "rootbig", "--config", self.config,
                      "--passphrase-file", self.pass_file)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        st = env.status("rootbig")
        self.assertEqual((st["state"], st["store"]), ("running", big_store), st)
        inst = [m for m in self.devnet.messages(self.address, "INSTANCE")
                if m["item_hash"] == st["instance"]]
        self.assertEqual(inst[0]["content"]["rootfs"]["size_mib"], 300)
        self.assertTrue(all(v["passphrase_ok"] >= 1 for v in self.devnet.vm(st["instance"])["vms"]))

        # a storage server that ignores Range: a small image is read whole (its hash checked)
        self.devnet.knobs({"ignore_range": True})
        self.addCleanup(self.devnet.knobs, {"ignore_range": False})
        env.define("rootnorange", self.tag())
        r = env.aleph("apply", "rootnorange", "--config", self.config,
                      "--passphrase-file", self.pass_file)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(env.status("rootnorange")["state"], "running")
        # ... and a large one is refused before anything is posted, saying why
        before = len(self.devnet.messages(self.address, "INSTANCE"))
        env.define("rootbignorange", tag)
        r = env.aleph("apply", "rootbignorange", "--config", self.config,
                      "--passphrase-file", self.pass_file)
        self.assertNotEqual(r.returncode, 0, r.stdout)
        self.assertIn("ignores Range requests", r.stderr)
        self.assertIn(big_store, r.stderr)
        self.assertEqual(len(self.devnet.messages(self.address, "INSTANCE")), before)

    def test_7_snp_rootfs_runs_attested_and_the_passphrase_arrives(self):
        env = self.env
        store = self.snp_store()
        env.define("snproot", self.snp_tag(store))
        stores = len(self.devnet.messages(self.address, "STORE"))
        # a wrong passphrase: the LUKS2 header says so, nothing written
        r = env.aleph("tag", "snproot", "--sev-type", "snp", "--api", self.devnet.ccn,
                      "--crn", "auto", "--rootfs", store, "--ssh-key",
                      "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB7 test@aleph",
                      "--passphrase-file", self.wrong_file, "--config", self.config)
        self.assertNotEqual(r.returncode, 0, r.stdout)
        self.assertIn("LUKS2", r.stderr)
        self.assertIn(store, r.stderr)
        r = env.aleph("apply", "snproot", "--config", self.config,
                      "--passphrase-file", self.pass_file)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        st = env.status("snproot")
        self.assertEqual((st["state"], st["store"], st["tee"], st["attestationVerdict"]),
                         ("running", store, "SEV-SNP", "ok"), st)
        self.assertEqual(len(self.devnet.messages(self.address, "STORE")), stores)
        inst = [m for m in self.devnet.messages(self.address, "INSTANCE")
                if m["item_hash"] == st["instance"]][0]
        te = inst["content"]["environment"]["trusted_execution"]
        self.assertEqual((te["mode"], te["runtime"]), ("sev_snp", self.devnet.info["snp"]["runtime"]))
        self.assertEqual(inst["content"]["rootfs"]["parent"]["ref"], store)
        # the passphrase reached the guest after its report was verified, and opened the image
        vm = self.devnet.vm(st["instance"])["vms"][0]
        self.assertGreaterEqual(vm["passphrase_ok"], 1, vm)
        self.assertEqual(self.dom_state("snproot")["build"]["layout"], "luks2-root")

    def test_8_snp_instance_adopted_attested_erased(self):
        env = self.env
        store = self.snp_store()
        env.define("snpadopt", self.snp_tag(store))
        # the launch digests an owner computes for the runtime, its address and 1 vCPU (with
        # sev-snp-measure): here, those of an INSTANCE our flow posted for the same three
        te = {"mode": "sev_snp", "policy": 0x30000, "runtime": self.devnet.info["snp"]["runtime"],
              "measurements": self.snp_measurements()}
        instance = self.client_instance(self.key, "snpadopt", store=store, te=te, size_mib=20)
        before = {t: len(self.devnet.messages(self.address, t)) for t in ("STORE", "INSTANCE")}
        r = env.aleph("adopt", "snpadopt", instance, "--config", self.config,
                      "--passphrase-file", self.pass_file)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(self.dom_state("snpadopt")["instance"]["hash"], instance)
        # an SNP INSTANCE of another policy is not the tag's
        other = self.client_instance(self.key, "snpother", store=store,
                                     te=dict(te, policy=0x30000 | (1 << 19)), size_mib=20)
        env.define("snpother", self.snp_tag(store))
        r = env.aleph("adopt", "snpother", other, "--config", self.config)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("policy", r.stderr)
        # attest: the agent's report verified, then the passphrase sent
        r = env.aleph("attest", "snpadopt", "--config", self.config)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        r = env.aleph("apply", "snpadopt", "--config", self.config)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        st = env.status("snpadopt")
        self.assertEqual((st["state"], st["instance"], st["tee"], st["attestationVerdict"]),
                         ("running", instance, "SEV-SNP", "ok"), st)
        r = env.aleph("status", "snpadopt")
        self.assertIn("SEV-SNP", r.stdout)
        vm = self.devnet.vm(instance)["vms"][0]
        self.assertGreaterEqual(vm["passphrase_ok"], 1, vm)
        after = {t: len(self.devnet.messages(self.address, t)) for t in ("STORE", "INSTANCE")}
        self.assertEqual(after, {"STORE": before["STORE"], "INSTANCE": before["INSTANCE"] + 1})
        # erase: gone from the CRN
        r = env.aleph("erase", "snpadopt", "--config", self.config)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(env.status("snpadopt")["state"], "erased")


if __name__ == "__main__":
    if os.geteuid() != 0:
        print("integration tests need root (a private libvirtd)", file=sys.stderr)
        sys.exit(1)
    unittest.main(argv=[sys.argv[0], "-v"] + sys.argv[2:])
