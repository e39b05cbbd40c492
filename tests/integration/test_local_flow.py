#!/usr/bin/python3
"""The local SEV flow encrypts the disk itself (issue #7): a domain tagged <aleph:local mode='sev'/>
on a plain disk is switched by virt-alephd to an encrypted image it builds, the original disk left
byte for byte as it was, the passphrase only in libvirt's secret store. This host has no SEV, so
the flow then stops at prepare with the precise error. Also the storage-API path ([localsev]
pool=, what a remote qemu+ssh:// host gets) with a dir pool of the private libvirtd,
'virt-aleph build --secret' whose image the flow uses as it is, and an SEV-SNP domain
(issue #15), which this host (libvirt 9.0, QEMU 7.2) refuses with the versions needed and found,
through 'virt-aleph apply' and the service alike, with nothing else changed.

Run by meson (suite 'integration') as root:  test_local_flow.py BUILDDIR
"""
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_integration import BUILD, HERE, Env, TAG_NS, VIRT_ALEPH, VIRT_ALEPHD, run, wait_for  # noqa: E402

FIRMWARE = os.path.join(HERE, "..", "data", "localsev", "ovmf-amdsev.fd")
POOL = "acpool"


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


class LocalFlow(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.env = Env()
        d = cls.env.dir
        cls.state = os.path.join(d, "state")  # the hook's state directory too
        cls.fw = os.path.join(d, "AMDSEV.fd")
        shutil.copyfile(FIRMWARE, cls.fw)
        cls.fw_sha256 = sha256(cls.fw)
        cls.config = os.path.join(d, "virt-alephd.conf")
        with open(cls.config, "w") as f:
            f.write(f"[pipeline]\nstate-dir={cls.state}\n")
        cls.pool_dir = os.path.join(d, "pool")
        os.makedirs(cls.pool_dir)
        cls.pool_config = os.path.join(d, "virt-alephd-pool.conf")
        with open(cls.pool_config, "w") as f:
            f.write(f"[pipeline]\nstate-dir={cls.state}\n[localsev]\npool={POOL}\n")
        cls.env.virsh("pool-define-as", POOL, "dir", "--target", cls.pool_dir)
        cls.env.virsh("pool-start", POOL)

    @classmethod
    def tearDownClass(cls):
        cls.env.stop_daemon()
        cls.env.close()

    # ---- helpers ---------------------------------------------------------------------------

    def tag(self):
        return (f'<aleph:confidential xmlns:aleph="{TAG_NS}"><aleph:disk dev="vda"/>'
                f'<aleph:firmware sha256="{self.fw_sha256}" file="{self.fw}"/>'
                '<aleph:local mode="sev"/></aleph:confidential>')

    def define(self, name, disk):
        """A domain on @disk (no direct kernel boot: SEV measures the firmware)."""
        xml = f"""<domain type='qemu'>
  <name>{name}</name>
  <metadata>{self.tag()}</metadata>
  <memory unit='MiB'>192</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <devices>
    <disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='{disk}'/><target dev='vda' bus='virtio'/></disk>
    <disk type='file' device='cdrom'><target dev='sda' bus='sata'/><readonly/></disk>
  </devices>
</domain>"""
        path = os.path.join(self.env.dir, name + ".xml")
        with open(path, "w") as f:
            f.write(xml)
        self.env.virsh("define", path)
        # the next test's service must not find it (undefined: its files stay)
        self.addCleanup(self.env.virsh, "undefine", name, check=False)

    def plain_disk(self, path):
        shutil.copyfile(os.path.join(self.env.guest, "disk.img"), path)
        return sha256(path)

    def start_daemon(self, config):
        env = self.env
        with open(env.daemon_log, "a") as log:
            # a session of its own: killed with its tools, as systemd kills the unit's cgroup
            env.daemon = subprocess.Popen([VIRT_ALEPHD, "--foreground", "--verbose", "--connect", env.uri,
                                           "--config", config], stdout=log, stderr=subprocess.STDOUT,
                                          start_new_session=True)

    def wait_prepare_refused(self, name, timeout=300):
        seen = set()

        def done():
            st = self.env.status(name)
            if st is not None:
                seen.add(st["state"])
            return st if st is not None and st["state"] == "failed" and st.get("errorStep") == "prepare" else None
        try:
            st = wait_for(done, timeout, f"{name} to stop at prepare")
        except AssertionError as e:
            raise AssertionError("%s; status %s\n--- virt-alephd log ---\n%s"
                                 % (e, self.env.status(name), self.env.daemon_output()[-8000:]))
        return st, seen

    def uuid(self, name):
        return self.env.virsh("domuuid", name).stdout.strip()

    def disk_of(self, name):
        xml = self.env.virsh("dumpxml", "--inactive", name).stdout
        import xml.etree.ElementTree as ET
        root = ET.fromstring(xml)
        disk = [d for d in root.iter("disk") if d.find("target").get("dev") == "vda"][0]
        loader = root.find("os/loader")
        return (disk.find("source").get("file"), disk.find("driver").get("type"),
                loader.text if loader is not None else None, xml)

    def image_state(self, name):
        with open(os.path.join(self.state, "localsev", self.uuid(name), "image.json")) as f:
            return json.load(f)

    def passphrase(self, secret):
        """The passphrase as the service reads it: its 0600 copy; libvirt's secret is private."""
        r = run("virsh", "-c", self.env.uri, "secret-get-value", "--plain", secret, check=False)
        self.assertNotEqual(r.returncode, 0, "a passphrase secret is readable through libvirt")
        self.assertIn("private", r.stderr)
        copy = os.path.join(self.state, "secrets", secret)
        self.assertEqual(os.stat(copy).st_mode & 0o777, 0o600)
        self.assertEqual(os.stat(os.path.dirname(copy)).st_mode & 0o777, 0o700)
        with open(copy) as f:
            return f.read()

    def check_luks(self, image, luks_uuid, passphrase):
        """The image is raw, GPT, its root a LUKS1 volume with that UUID that the passphrase opens."""
        info = json.loads(run("qemu-img", "info", "--output=json", image).stdout)
        self.assertEqual(info["format"], "raw")
        table = json.loads(run("sfdisk", "--json", image).stdout)["partitiontable"]
        self.assertEqual(table["label"], "gpt")
        root = table["partitions"][-1]
        hdr = os.path.join(self.env.dir, "luks-header.img")
        run("dd", f"if={image}", f"of={hdr}", "bs=512", f"skip={root['start']}", "count=8192", "status=none")
        dump = run("cryptsetup", "luksDump", hdr).stdout
        self.assertRegex(dump, r"Version:\s+1")
        self.assertRegex(dump, r"UUID:\s+" + luks_uuid)
        r = subprocess.run(["cryptsetup", "open", "--test-passphrase", "--key-file=-", hdr],
                           input=passphrase.encode(), capture_output=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        r = subprocess.run(["cryptsetup", "open", "--test-passphrase", "--key-file=-", hdr],
                           input=b"not the passphrase", capture_output=True)
        self.assertNotEqual(r.returncode, 0)
        os.unlink(hdr)

    def check_secret_usage(self, secret, volume):
        xml = self.env.virsh("secret-dumpxml", secret).stdout
        self.assertIn("<usage type='volume'>", xml)
        self.assertIn(f"<volume>{volume}</volume>", xml)

    def check_passphrase_nowhere(self, name, passphrase):
        """Only libvirt's (private) secret and the service's copy hold it: not the logs, the
        status, the other state files."""
        self.assertGreaterEqual(len(passphrase), 16)
        self.assertNotIn(passphrase, self.env.daemon_output())
        self.assertNotIn(passphrase, self.env.virsh("dumpxml", name).stdout)
        self.assertNotIn(passphrase, self.env.aleph("status", name, "--json").stdout)
        needle = passphrase.encode()
        copies = os.path.join(self.state, "secrets")
        for top in (self.state, os.path.join(self.env.dir, "log")):
            for root, _, files in os.walk(top):
                for f in files:
                    p = os.path.join(root, f)
                    if root == copies:
                        continue  # the copies, one per secret (passphrase() checks them)
                    if os.path.islink(p) or os.path.getsize(p) > (8 << 20):
                        continue  # the images: encrypted, checked with cryptsetup
                    with open(p, "rb") as fh:
                        self.assertNotIn(needle, fh.read(), p)

    def check_refused_at_prepare(self, st):
        # this host has no SEV: the flow stops where it needs the platform, and says so
        self.assertEqual(st["step"], "prepare")
        self.assertEqual(st["errorCode"], "unsupported", st)
        self.assertIn("virNodeGetSEVInfo", st["error"])

    # ---- tests -----------------------------------------------------------------------------

    def test_1_plain_disk_is_encrypted_and_switched(self):
        env = self.env
        disk = os.path.join(env.dir, "lsev.img")
        before = self.plain_disk(disk)
        stat_before = os.stat(disk)
        self.define("lsev", disk)
        self.start_daemon(self.config)
        try:
            st, seen = self.wait_prepare_refused("lsev")
            self.check_refused_at_prepare(st)
            uuid = self.uuid("lsev")
            image = os.path.join(self.state, "images", uuid + ".img")

            # the status shows the build and names the image
            log = env.daemon_output()
            self.assertIn("domain 'lsev': building at step build", log)
            self.assertIn("building the encrypted image", log)
            self.assertEqual(st["imagePath"], image)
            self.assertEqual(st["imageSha256"], sha256(image))

            # the domain points at the image, raw, the tag's firmware as loader
            source, fmt, loader, _ = self.disk_of("lsev")
            self.assertEqual(source, image)
            self.assertEqual(fmt, "raw")
            self.assertEqual(loader, self.fw)

            # the original: byte for byte, never touched; its path recorded
            self.assertEqual(sha256(disk), before)
            stat_after = os.stat(disk)
            self.assertEqual((stat_after.st_ino, stat_after.st_mtime_ns), (stat_before.st_ino, stat_before.st_mtime_ns))
            state = self.image_state("lsev")
            self.assertEqual(state["original"], disk)
            self.assertEqual(state["phase"], "switched")
            self.assertIn(f"the original {disk} is kept, untouched", log)

            # an encrypted image the passphrase from libvirt's secret store opens
            self.check_secret_usage(state["secret"], image)
            passphrase = self.passphrase(state["secret"])
            self.check_luks(image, st["luksUuid"], passphrase)
            self.check_passphrase_nowhere("lsev", passphrase)

            # another event (a metadata change by the owner) builds nothing again
            count = log.count("building the encrypted image")
            runs = env.daemon_output().count("domain 'lsev': local SEV flow")
            env.virsh("desc", "lsev", "--config", "--new-desc", "touched")
            wait_for(lambda: env.daemon_output().count("domain 'lsev': local SEV flow") > runs, 60,
                     "the flow to run again")
            self.assertEqual(env.daemon_output().count("building the encrypted image"), count)
            self.assertEqual(self.disk_of("lsev")[0], image)
            self.assertEqual(os.listdir(os.path.join(self.state, "images")).count(uuid + ".img"), 1)
        finally:
            env.stop_daemon()
        # a build stopped with the service leaves no work directory
        self.assertEqual([n for n in os.listdir(os.path.join(self.state, "images")) if n.startswith("ac-build-")], [])

    def test_2_pool_through_the_storage_api(self):
        env = self.env
        disk = os.path.join(self.pool_dir, "lpool-disk.img")
        before = self.plain_disk(disk)  # copied after the pool started: found after a refresh
        self.define("lpool", disk)
        self.start_daemon(self.pool_config)
        try:
            st, _ = self.wait_prepare_refused("lpool")
            self.check_refused_at_prepare(st)
            uuid = self.uuid("lpool")
            volume = os.path.join(self.pool_dir, uuid + ".img")
            log = env.daemon_output()
            self.assertIn("through libvirt's storage API", log)
            self.assertIn("uploading the encrypted image of domain 'lpool'", log)

            # a new volume of the pool, verified, the disk on it
            vols = env.virsh("vol-list", POOL).stdout
            self.assertIn(uuid + ".img", vols)
            self.assertEqual(self.disk_of("lpool")[0], volume)
            self.assertEqual(st["imagePath"], volume)
            self.assertEqual(st["imageSha256"], sha256(volume))
            self.assertEqual(sha256(disk), before)
            state = self.image_state("lpool")
            self.assertEqual(state["pool"], POOL)
            self.assertEqual(state["original"], disk)
            self.assertEqual(state["target"], volume)

            # the passphrase in this machine's store, for the volume's path; nothing left here
            self.check_secret_usage(state["secret"], volume)
            passphrase = self.passphrase(state["secret"])
            self.check_luks(volume, st["luksUuid"], passphrase)
            self.check_passphrase_nowhere("lpool", passphrase)
            images = os.listdir(os.path.join(self.state, "images"))
            self.assertNotIn(uuid + ".img", images)  # the local copy went after the upload
            self.assertEqual([n for n in images if n.startswith("ac-build-")], [])
            # the secret of the local copy was moved, not duplicated
            secrets = env.virsh("secret-list").stdout
            self.assertIn(volume, secrets)
            self.assertNotIn(os.path.join(self.state, "images", uuid + ".img"), secrets)
        finally:
            env.stop_daemon()

        # a disk that is no pool volume: refused, saying what to do
        outside = os.path.join(env.dir, "outside.img")
        self.plain_disk(outside)
        self.define("nopool", outside)
        self.start_daemon(self.pool_config)
        try:
            def refused():
                st = env.status("nopool")
                return st if st is not None and st["state"] == "failed" else None
            st = wait_for(refused, 60, "nopool refused")
            self.assertEqual(st["errorStep"], "build")
            self.assertEqual(st["errorCode"], "invalid-input")
            self.assertIn("is not a volume of a storage pool", st["error"])
            self.assertIn(outside, st["error"])
            self.assertIn("pool-define-as", st["error"])
            self.assertEqual(self.disk_of("nopool")[0], outside)
        finally:
            env.stop_daemon()

    def test_3_virt_aleph_build_secret(self):
        env = self.env
        src = os.path.join(env.dir, "cli-src.img")
        self.plain_disk(src)
        out = os.path.join(env.dir, "built", "cli.img")
        template = os.path.join(env.dir, "cli.json")
        with open(template, "w") as f:
            json.dump({"name": "cli", "source": {"type": "image", "path": src, "format": "raw"},
                       "disk": {"size": "256MiB"}, "output": {"path": out}}, f)

        # a remote libvirt never gets the passphrase; nothing is built
        r = run(VIRT_ALEPH, "-c", "qemu+ssh://sev-host.invalid/system", "build", template, "--secret",
                check=False)
        self.assertEqual(r.returncode, 3, r.stderr)
        self.assertIn("qemu+ssh://sev-host.invalid/system is not a libvirt on this machine", r.stderr)
        self.assertFalse(os.path.exists(out))

        r = env.aleph("build", template, "--secret", "--config", self.config, "--json", "--no-cid")
        self.assertEqual(r.returncode, 0, r.stderr)
        res = json.loads(r.stdout)
        self.assertEqual(res["image"], out)
        self.assertEqual(res["secret_usage"], out)
        self.assertNotIn("passphrase", res)
        self.check_secret_usage(res["secret"], out)
        passphrase = self.passphrase(res["secret"])
        self.check_luks(out, res["luks_uuid"], passphrase)
        self.assertNotIn(passphrase, r.stdout + r.stderr)

        # again without --force: the store's secret for that image is not replaced
        r = env.aleph("build", template, "--secret", "--config", self.config)
        self.assertEqual(r.returncode, 11, r.stderr)
        # plain output: the secret's UUID on stdout
        r = env.aleph("build", template, "--secret", "--config", self.config, "--force", "--quiet", "--no-cid")
        self.assertEqual(r.returncode, 0, r.stderr)
        secret = r.stdout.strip()
        self.check_secret_usage(secret, out)
        self.assertNotEqual(self.passphrase(secret), passphrase)
        # the replaced secret's copy went with it
        self.assertFalse(os.path.exists(os.path.join(self.state, "secrets", res["secret"])))

        # the local flow uses such an image as it is: nothing built, the disk unchanged
        before = sha256(out)
        self.define("ownimage", out)
        self.start_daemon(self.config)
        try:
            st, _ = self.wait_prepare_refused("ownimage")
            self.check_refused_at_prepare(st)
            self.assertEqual(self.disk_of("ownimage")[0], out)
            self.assertNotIn("domain 'ownimage': building", env.daemon_output())
            self.assertFalse(os.path.exists(os.path.join(self.state, "localsev", self.uuid("ownimage"),
                                                         "image.json")))
            self.assertEqual(sha256(out), before)
        finally:
            env.stop_daemon()

    def test_4_service_stopped_mid_build(self):
        """SIGTERM: the build is cancelled and undone before the service exits; SIGKILL: the next
        build removes what was left; either way the next run builds cleanly, once."""
        env = self.env
        disk = os.path.join(env.dir, "lstop.img")
        before = self.plain_disk(disk)
        self.define("lstop", disk)
        images = os.path.join(self.state, "images")

        def building():
            st = env.status("lstop")
            return st is not None and st["state"] == "building" and st["progress"] >= 5

        def leftovers():
            return [n for n in os.listdir(images) if n.startswith("ac-build-")]

        def mounts():
            with open("/proc/self/mountinfo") as f:
                return [line for line in f if images in line]

        self.start_daemon(self.config)
        wait_for(building, 120, "the build to be under way")
        env.daemon.send_signal(signal.SIGTERM)
        env.daemon.wait(30)  # cancelled builds are undone first (at most 20 s)
        env.daemon = None
        self.assertEqual(leftovers(), [])
        self.assertEqual(mounts(), [])
        self.assertEqual(self.disk_of("lstop")[0], disk)

        builds = env.daemon_output().count("building the encrypted image")
        self.start_daemon(self.config)
        wait_for(lambda: env.daemon_output().count("building the encrypted image") > builds and leftovers(),
                 120, "the build to be under way again")
        os.killpg(env.daemon.pid, signal.SIGKILL)
        env.daemon.wait()
        env.daemon = None
        self.assertNotEqual(leftovers(), [])  # killed mid-build: its work directory stays
        self.assertEqual(self.disk_of("lstop")[0], disk)  # not switched to a half image

        self.start_daemon(self.config)
        try:
            st, _ = self.wait_prepare_refused("lstop")
            self.check_refused_at_prepare(st)
            uuid = self.uuid("lstop")
            image = os.path.join(images, uuid + ".img")
            self.assertEqual(self.disk_of("lstop")[0], image)
            self.assertIn("left by an interrupted build", env.daemon_output())
            self.assertEqual(leftovers(), [])
            self.assertEqual(mounts(), [])
            # one image: the interrupted builds left none, the last one was not repeated
            self.assertEqual([n for n in os.listdir(images) if n.startswith(uuid) and n.endswith(".img")],
                             [uuid + ".img"])
            state = self.image_state("lstop")
            self.check_luks(image, st["luksUuid"], self.passphrase(state["secret"]))
            self.assertEqual(sha256(disk), before)
        finally:
            env.stop_daemon()



    # ---- SEV-SNP: this host cannot launch it ------------------------------------------------

    def snp_define(self, name, disk):
        tag = (f'<aleph:confidential xmlns:aleph="{TAG_NS}"><aleph:disk dev="vda"/>'
               '<aleph:sev type="snp" policy="0x30000"/><aleph:local mode="sev"/>'
               '</aleph:confidential>')
        xml = f"""<domain type='qemu'>
  <name>{name}</name>
  <metadata>{tag}</metadata>
  <memory unit='MiB'>192</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <devices>
    <disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='{disk}'/><target dev='vda' bus='virtio'/></disk>
  </devices>
</domain>"""
        path = os.path.join(self.env.dir, name + ".xml")
        with open(path, "w") as f:
            f.write(xml)
        self.env.virsh("define", path)
        self.addCleanup(self.env.virsh, "undefine", name, check=False)

    def definition_without_status(self, name):
        """The inactive definition, less the status element the flow writes."""
        import xml.etree.ElementTree as ET
        root = ET.fromstring(self.env.virsh("dumpxml", "--inactive", name).stdout)
        metadata = root.find("metadata")
        for child in list(metadata):
            if not child.tag.startswith("{" + TAG_NS + "}"):
                metadata.remove(child)
        metadata.text = None  # the layout around the removed element
        for child in metadata:
            child.tail = None
        return ET.tostring(root, encoding="unicode")

    def check_snp_refused(self, text):
        self.assertIn("needs libvirt >= 10.5.0 and QEMU >= 9.1.0", text)
        self.assertRegex(text, r"found libvirt \d+\.\d+\.\d+, QEMU \d+\.\d+\.\d+")
        # the versions found are this host's: 'virsh version --daemon'
        version = dict(line.split(":", 1) for line in self.env.virsh("version", "--daemon").stdout.splitlines()
                       if ":" in line)
        daemon = version["Running against daemon"].strip()
        qemu = version["Running hypervisor"].split()[-1]
        self.assertIn(f"found libvirt {daemon}, QEMU {qemu}", text)

    def test_5_snp_refused_with_versions(self):
        env = self.env
        name = "lsnp"
        disk = os.path.join(env.dir, "lsnp.img")
        before = self.plain_disk(disk)
        config = os.path.join(env.dir, "virt-alephd-snp.conf")
        runtime = os.path.join(env.dir, "snp-runtime")
        os.makedirs(runtime)
        with open(config, "w") as f:
            f.write(f"[pipeline]\nstate-dir={self.state}\n"
                    f"[localsev]\nsnp-runtime={runtime}\nsnp-agent=127.0.0.1:18443\n")
        self.snp_define(name, disk)
        uuid = self.uuid(name)
        definition = self.definition_without_status(name)
        secrets = env.virsh("secret-list").stdout

        def nothing_changed():
            self.assertEqual(self.definition_without_status(name), definition)
            self.assertEqual(sha256(disk), before)
            self.assertEqual(env.virsh("secret-list").stdout, secrets)
            images = os.path.join(self.state, "images")
            self.assertEqual([n for n in (os.listdir(images) if os.path.isdir(images) else [])
                              if n.startswith(uuid)], [])
            self.assertFalse(os.path.exists(os.path.join(self.state, "localsev", uuid, "prepared.json")))
            self.assertFalse(os.path.exists(os.path.join(self.state, "localsev", uuid, "image.json")))

        # virt-aleph apply: the local flow, stopped by the host check
        r = env.aleph("apply", name, "--config", config)
        self.assertNotEqual(r.returncode, 0, r.stdout)
        self.check_snp_refused(r.stderr)
        st = env.status(name)
        self.assertEqual(st["state"], "refused", st)
        self.assertEqual(st["step"], "prepare")
        self.assertEqual(st["errorCode"], "unsupported")
        self.check_snp_refused(st["error"])
        nothing_changed()

        # the service: the same refusal, the same nothing
        env.virsh("desc", name, "--config", "--new-desc", "service")
        definition = self.definition_without_status(name)
        self.start_daemon(config)
        try:
            wait_for(lambda: f"domain '{name}': local SEV flow" in env.daemon_output(), 120,
                     "the service to run the SNP domain")
            st = env.status(name)
            self.assertEqual(st["state"], "refused", st)
            self.assertEqual(st["errorCode"], "unsupported")
            self.check_snp_refused(st["error"])
            self.check_snp_refused(env.daemon_output())
            nothing_changed()
        finally:
            env.stop_daemon()

if __name__ == "__main__":
    if os.geteuid() != 0:
        print("integration tests need root (a private libvirtd)", file=sys.stderr)
        sys.exit(1)
    unittest.main(argv=[sys.argv[0], "-v"] + sys.argv[2:])
