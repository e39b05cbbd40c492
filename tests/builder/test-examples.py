#!/usr/bin/env python3
# The templates of examples/templates/, each validated (`virt-aleph build validate`), built with
# `virt-aleph build` as a user would (only the variables the templates document set, to
# point them at temporary folders) and the result checked with independent tools: qemu-img
# info, sfdisk, cryptsetup luksDump and --test-passphrase, QEMU's LUKS driver decrypting the
# root and debugfs reading files from it. Also: an image published for Aleph's SEV firmware
# without the aleph provisioner is refused before anything is built; the Ubuntu cloud image
# root tarball template on an Ubuntu-shaped tarball made here; a hostile tarball.
#
#   test-examples.py VIRT-ALEPH EXAMPLES-DIR [--slow]
# --slow: the Debian 12 template (debootstrap from the mirror, $AC_DEBIAN_MIRROR to override).
# Needs root (loop mounts, chroot), busybox-static, qemu-utils, cryptsetup, e2fsprogs.
# SPDX-License-Identifier: LGPL-2.1-or-later
import json, os, shutil, subprocess, sys, tarfile, tempfile, unittest

VIRT_ALEPH = EXAMPLES = None
SLOW = False
MiB = 1024 * 1024
ENV = dict(os.environ, LC_ALL="C")


def run(*argv, input=None, check=True):
    r = subprocess.run(list(argv), input=input, capture_output=True, text=True, env=ENV,
                       timeout=3600)
    if check and r.returncode != 0:
        raise AssertionError(f"{' '.join(argv)} exited {r.returncode}:\n{r.stdout}\n{r.stderr}")
    return r


def busybox_tree(root, os_release, tools=("sh", "sed", "cat", "true", "echo", "mkdir", "rm",
                                           "printf", "ls", "touch", "grep", "env")):
    for d in ("bin", "etc", "boot", "tmp", "usr", "dev", "proc", "sys"):
        os.makedirs(os.path.join(root, d), exist_ok=True)
    shutil.copy("/bin/busybox", os.path.join(root, "bin", "busybox"))
    for t in tools:
        os.symlink("busybox", os.path.join(root, "bin", t))
    with open(os.path.join(root, "etc", "os-release"), "w") as f:
        f.write(os_release)
    with open(os.path.join(root, "etc", "fstab"), "w") as f:
        f.write("UUID=0000-0000 /boot/efi vfat umask=0077 0 1\n"
                "UUID=11111111-2222-3333-4444-555555555555 / ext4 defaults 0 1\n")


def qemu_img_info(path):
    return json.loads(run("qemu-img", "info", "--output=json", path).stdout)


def partitions(image):
    return json.loads(run("sfdisk", "--json", image).stdout)["partitiontable"]["partitions"]


def write_pass(dir, passphrase):
    path = os.path.join(dir, "pass.tmp")
    with open(path, "w") as f:
        f.write(passphrase)
    return path


class Examples(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="ac-examples-")

    def tearDown(self):
        run("rm", "-rf", "--one-file-system", self.dir, check=False)

    # ---- helpers ----

    def build(self, template, variables, extra=()):
        """validate, then build with --json; returns (result, passphrase)"""
        args = []
        for k, v in variables.items():
            args += ["--var", f"{k}={v}"]
        path = os.path.join(EXAMPLES, template)
        r = run(VIRT_ALEPH, "--json", "build", "validate", *args, path)
        self.assertTrue(json.loads(r.stdout)["valid"], r.stdout)
        passfile = os.path.join(self.dir, template + ".pass")
        r = run(VIRT_ALEPH, "--json", "build", "--passphrase-out", passfile, *args, *extra, path)
        out = json.loads(r.stdout)
        with open(passfile) as f:
            passphrase = f.read()
        self.assertGreaterEqual(len(passphrase), 32)
        self.assertEqual(os.stat(passfile).st_mode & 0o777, 0o600)
        # the manifest's digest is the file's (sha256sum, not the builder)
        self.assertEqual(run("sha256sum", out["image"]).stdout.split()[0], out["sha256"])
        with open(out["manifest"]) as f:
            self.assertNotIn(passphrase, f.read())
        return out, passphrase

    def header_of(self, image, offset, size=16 * MiB):
        hdr = os.path.join(self.dir, "hdr")
        with open(image, "rb") as src, open(hdr, "wb") as dst:
            src.seek(offset)
            dst.write(src.read(size))
        return hdr

    def check_passphrase(self, hdr, passphrase, slot="0"):
        run("cryptsetup", "open", "--test-passphrase", "--key-slot", slot, "--key-file", "-",
            hdr, input=passphrase)
        r = run("cryptsetup", "open", "--test-passphrase", "--key-file", "-", hdr,
                input=passphrase + "x", check=False)
        self.assertNotEqual(r.returncode, 0, "a wrong passphrase opens the image")

    def check_sev_image(self, out, passphrase, size):
        """grub-luks1: raw, GPT with the ESP and LUKS1 (aes-xts-plain64), the passphrase in
        slot 0; returns the decrypted root filesystem's path"""
        info = qemu_img_info(out["image"])
        self.assertEqual(info["format"], "raw")
        self.assertEqual(info["virtual-size"], size)
        parts = partitions(out["image"])
        self.assertEqual(len(parts), 2)
        self.assertEqual(parts[0]["type"].upper(), "C12A7328-F81F-11D2-BA4B-00A0C93EC93B")
        hdr = self.header_of(out["image"], parts[1]["start"] * 512)
        dump = run("cryptsetup", "luksDump", hdr).stdout
        self.assertIn("Version:       \t1", dump)
        self.assertIn("Cipher name:   \taes", dump)
        self.assertIn("Cipher mode:   \txts-plain64", dump)
        self.assertIn(out["luks_uuid"], dump)
        self.check_passphrase(hdr, passphrase)
        # QEMU's LUKS driver decrypts the root: not the builder's XTS code
        fs = os.path.join(self.dir, "root.ext4")
        passfile = write_pass(self.dir, passphrase)
        opts = (f"driver=luks,key-secret=s0,file.driver=raw,file.offset={parts[1]['start'] * 512},"
                f"file.size={parts[1]['size'] * 512},file.file.driver=file,"
                f"file.file.filename={out['image']}")
        run("qemu-img", "convert", "--object", f"secret,id=s0,file={passfile}", "--image-opts",
            opts, "-O", "raw", fs)
        os.unlink(passfile)
        run("e2fsck", "-fn", fs)
        return fs, hdr

    def guest_cat(self, fs, path):
        return run("debugfs", "-R", f"cat {path}", fs).stdout

    # ---- (c) a directory tree ----

    def test_directory(self):
        tree = os.path.join(self.dir, "rootfs")
        busybox_tree(tree, "ID=debian\n")
        with open(os.path.join(tree, "etc", "marker"), "w") as f:
            f.write("from the directory tree\n")
        img = os.path.join(self.dir, "out", "directory.img")
        out, passphrase = self.build("directory.json", {"tree": tree, "output": img})
        self.assertEqual(out["image"], img)
        self.assertTrue(os.path.exists(img + ".manifest.json"))
        fs, _ = self.check_sev_image(out, passphrase, 256 * MiB)
        self.assertEqual(self.guest_cat(fs, "/etc/marker"), "from the directory tree\n")
        # the tree is taken as it is: no provisioner touched it
        self.assertIn("/boot/efi", self.guest_cat(fs, "/etc/fstab"))

    # ---- (b) an existing qcow2 disk, and its SEV-SNP variant ----

    def make_qcow2(self):
        """a qcow2 disk as a VM would have: GPT, p1 a FAT ESP, p2 the ext4 root"""
        tree = os.path.join(self.dir, "vmroot")
        busybox_tree(tree, 'NAME="Debian GNU/Linux"\nID=debian\nVERSION_ID="12"\n')
        with open(os.path.join(tree, "etc", "marker"), "w") as f:
            f.write("from the qcow2 disk\n")
        raw = os.path.join(self.dir, "vm.raw")
        with open(raw, "wb") as f:
            f.truncate(160 * MiB)
        run("sfdisk", "--quiet", raw, input="label: gpt\n"
            "start=2048, size=65536, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B\n"
            "start=67584, type=0FC63DAF-8483-4772-8E47-3D69D8477DE4\n")
        parts = partitions(raw)
        esp, root = os.path.join(self.dir, "esp.vfat"), os.path.join(self.dir, "root.ext4.src")
        run("mkfs.vfat", "-C", esp, str(parts[0]["size"] // 2))
        with open(root, "wb") as f:
            f.truncate(parts[1]["size"] * 512)
        run("mkfs.ext4", "-q", "-d", tree, root)
        for p, img in ((parts[0], esp), (parts[1], root)):
            run("dd", f"if={img}", f"of={raw}", "bs=512", f"seek={p['start']}", "conv=notrunc",
                "status=none")
            os.unlink(img)
        qcow = os.path.join(self.dir, "vm.qcow2")
        run("qemu-img", "convert", "-f", "raw", "-O", "qcow2", raw, qcow)
        os.unlink(raw)
        return qcow

    def test_qcow2_image(self):
        qcow = self.make_qcow2()
        before = run("sha256sum", qcow).stdout
        img = os.path.join(self.dir, "qcow2-image.img")
        out, passphrase = self.build("qcow2-image.json", {"disk": qcow, "output": img,
                                                        "size": "256MiB"})
        fs, _ = self.check_sev_image(out, passphrase, 256 * MiB)
        self.assertEqual(self.guest_cat(fs, "/etc/marker"), "from the qcow2 disk\n")
        self.assertEqual(run("sha256sum", qcow).stdout, before, "the source disk changed")

        # the SEV-SNP variant: a LUKS2 header at 0, its data segment at 16 MiB
        img = os.path.join(self.dir, "qcow2-image-snp.img")
        out, passphrase = self.build("qcow2-image-snp.json", {"disk": qcow, "output": img,
                                                            "size": "256MiB"})
        info = qemu_img_info(img)
        self.assertEqual(info["format"], "raw")  # a plain file: the LUKS2 header at its start
        self.assertEqual(info["virtual-size"], 256 * MiB)
        dump = run("cryptsetup", "luksDump", img).stdout
        self.assertIn("Version:       \t2", dump)
        self.assertIn("cipher: aes-xts-plain64", dump)
        self.assertIn("offset: 16777216 [bytes]", dump)
        self.assertIn("length: (whole device)", dump)
        self.assertIn("PBKDF:      pbkdf2", dump)
        self.assertNotIn("1: luks2", dump)  # one key slot
        self.check_passphrase(img, passphrase)
        r = run("sfdisk", "--json", img, check=False)
        self.assertNotIn("partitiontable", r.stdout)  # no GPT

    # ---- the Ubuntu cloud image root tarball ----

    def ubuntu_tarball(self):
        """an Ubuntu-shaped root tarball (as cloud-images.ubuntu.com's -root.tar.xz): os-release
        says Ubuntu, no kernel; the distribution's tools the aleph provisioner runs are stand-ins
        that record how they were called and do what the real ones would leave behind"""
        tree = os.path.join(self.dir, "ubuntu")
        busybox_tree(tree, 'PRETTY_NAME="Ubuntu 24.04 LTS"\nNAME="Ubuntu"\nVERSION_ID="24.04"\n'
                     'ID=ubuntu\nID_LIKE=debian\nVERSION_CODENAME=noble\n')
        stubs = {
            "usr/bin/apt-get": 'echo "apt-get $*" >> /var/log/ac-calls\n'
                               'case "$*" in *linux-image-virtual*)\n'
                               '  echo kernel > /boot/vmlinuz-6.8.0-31-generic ;; esac\n',
            "usr/sbin/update-initramfs": 'echo "update-initramfs $*" >> /var/log/ac-calls\n'
                                         'echo initrd > /boot/initrd.img-6.8.0-31-generic\n',
            "usr/bin/lsinitramfs": 'echo "lsinitramfs $*" >> /var/log/ac-calls\n'
                                   'echo usr/sbin/cryptsetup\n'
                                   'echo cryptroot/keyfiles/cr_root.key\n',
            "usr/bin/grub-mkimage": 'echo "grub-mkimage $*" >> /var/log/ac-calls\n'
                                    'echo EFI > /tmp/ac-BOOTX64.EFI\n',
        }
        os.makedirs(os.path.join(tree, "var", "log"))
        for rel, body in stubs.items():
            path = os.path.join(tree, rel)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w") as f:
                f.write("#!/bin/sh\n" + body)
            os.chmod(path, 0o755)
        tarball = os.path.join(self.dir, "ubuntu-24.04-server-cloudimg-amd64-root.tar.xz")
        run("tar", "--create", "--xz", "--numeric-owner", "--file", tarball, "--directory",
            tree, ".")
        shutil.rmtree(tree)
        return tarball

    def test_ubuntu_tarball(self):
        tarball = self.ubuntu_tarball()
        img = os.path.join(self.dir, "ubuntu-aleph.img")
        out, passphrase = self.build("ubuntu-cloud-root.json",
                                     {"tarball": tarball, "output": img, "size": "256MiB"})
        fs, hdr = self.check_sev_image(out, passphrase, 256 * MiB)
        calls = self.guest_cat(fs, "/var/log/ac-calls")
        # Ubuntu's kernel package, because the tarball has none; then GRUB and the initramfs
        self.assertIn("apt-get install -y -q --no-install-recommends cryptsetup "
                      "cryptsetup-initramfs initramfs-tools grub-efi-amd64-bin "
                      "linux-image-virtual", calls)
        self.assertIn("update-initramfs -c -k 6.8.0-31-generic", calls)
        self.assertIn("lsinitramfs /boot/initrd.img-6.8.0-31-generic", calls)
        self.assertIn("grub-mkimage -O x86_64-efi", calls)
        grub = self.guest_cat(fs, "/boot/grub/grub.cfg")
        self.assertIn("menuentry 'ubuntu 6.8.0-31-generic (encrypted root)'", grub)
        self.assertIn(f"cryptdevice=UUID={out['luks_uuid']}:cr_root root=/dev/mapper/cr_root "
                      "console=ttyS0", grub)
        self.assertIn("GRUB_ENABLE_CRYPTODISK=y", self.guest_cat(fs, "/etc/default/grub"))
        keyname = f"/etc/cryptsetup-keys.d/luks-{out['luks_uuid']}.key"
        self.assertEqual(self.guest_cat(fs, "/etc/crypttab").splitlines()[-1],
                         f"cr_root UUID={out['luks_uuid']} {keyname} luks,discard,initramfs")
        # the guest's keyfile opens slot 1, as the initramfs will
        keyfile = self.guest_cat(fs, keyname)
        run("cryptsetup", "open", "--test-passphrase", "--key-slot", "1", "--key-file", "-", hdr,
            input=keyfile)
        # the ESP holds the GRUB grub-mkimage made
        self.assertGreater(len(run("mdir", "-i", f"{out['image']}@@1M", "::/EFI/BOOT").stdout), 0)

    def test_hostile_tarball(self):
        victim = os.path.join(self.dir, "victim")
        os.makedirs(victim)
        tarball = os.path.join(self.dir, "evil.tar.gz")
        with tarfile.open(tarball, "w:gz") as t:
            for name, kind, link in (("../victim/dotdot", tarfile.REGTYPE, ""),
                                     (os.path.join(victim, "absolute"), tarfile.REGTYPE, ""),
                                     ("esc", tarfile.SYMTYPE, victim),
                                     ("esc/via-symlink", tarfile.REGTYPE, "")):
                ti = tarfile.TarInfo(name)
                ti.type, ti.linkname = kind, link
                t.addfile(ti, None if kind != tarfile.REGTYPE else __import__("io").BytesIO(b""))
        tpl = os.path.join(self.dir, "evil.json")
        with open(tpl, "w") as f:
            json.dump({"source": {"type": "tarball", "path": tarball}, "disk": {"size": "64MiB"},
                       "passphrase": {"from_caller": True}, "output": {"path": "evil.img"}}, f)
        r = run(VIRT_ALEPH, "build", "--passphrase-stdin", tpl, input="x" * 20, check=False)
        self.assertNotEqual(r.returncode, 0, r.stderr)
        self.assertEqual(os.listdir(victim), [])
        self.assertFalse(os.path.exists(os.path.join(self.dir, "evil.img")))

    # ---- publishing for Aleph's SEV firmware needs the aleph provisioner ----

    def test_publish_needs_aleph(self):
        tree = os.path.join(self.dir, "rootfs")
        busybox_tree(tree, "ID=debian\n")
        tpl = os.path.join(self.dir, "publish.json")
        t = {"source": {"type": "directory", "path": tree},
             "provisioners": [{"type": "shell", "inline": ["true"]}],
             "disk": {"size": "256MiB"}, "output": {"path": "p.img"},
             "publish": {"api": "http://127.0.0.1:9"}}
        with open(tpl, "w") as f:
            json.dump(t, f)
        for argv in (["build", "validate"], ["build", "--passphrase-out", "pw"]):
            r = run(VIRT_ALEPH, "--json", *argv, tpl, check=False)
            self.assertNotEqual(r.returncode, 0)
            msg = json.loads(r.stdout)["error"]["message"]
            self.assertIn("template field 'provisioners'", msg)
            self.assertIn('{ "type": "aleph" }', msg)
            self.assertIn("docs/builder.md#publishing-to-aleph", msg)
            self.assertIn("luks2-root", msg)
        # nothing was built: no work directory, image or passphrase left
        self.assertEqual(sorted(os.listdir(self.dir)), ["publish.json", "rootfs"])
        # the aleph provisioner without its initramfs is refused too, naming the member
        t["provisioners"].append({"type": "aleph", "update_initramfs": False})
        with open(tpl, "w") as f:
            json.dump(t, f)
        r = run(VIRT_ALEPH, "build", "validate", tpl, check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("'provisioners[1].update_initramfs'", r.stderr)
        # with it, and for SEV-SNP (luks2-root, whose initrd opens the image) without it
        t["provisioners"][1] = {"type": "aleph"}
        with open(tpl, "w") as f:
            json.dump(t, f)
        run(VIRT_ALEPH, "build", "validate", tpl)
        t["provisioners"] = [{"type": "shell", "inline": ["true"]}]
        t["disk"]["layout"] = "luks2-root"
        with open(tpl, "w") as f:
            json.dump(t, f)
        run(VIRT_ALEPH, "build", "validate", tpl)

    # ---- (a) Debian 12 from the mirror (the slow suite) ----

    def test_debian_12(self):
        mirror = os.environ.get("AC_DEBIAN_MIRROR", "http://deb.debian.org/debian")
        img = os.path.join(self.dir, "debian-12-aleph.img")
        out, passphrase = self.build("debian-12-aleph.json", {"mirror": mirror, "output": img})
        fs, hdr = self.check_sev_image(out, passphrase, 2048 * MiB)
        # /etc/os-release is a symbolic link, which debugfs does not follow
        self.assertIn('VERSION_CODENAME=bookworm', self.guest_cat(fs, "/usr/lib/os-release"))
        self.assertEqual(self.guest_cat(fs, "/etc/hostname"), "aleph-debian\n")
        ls = run("debugfs", "-R", "ls /boot", fs).stdout
        self.assertIn("vmlinuz-", ls)
        self.assertIn("initrd.img-", ls)
        for pkg in ("openssh-server", "cryptsetup-initramfs", "grub-efi-amd64-bin"):
            r = run("debugfs", "-R", f"stat /var/lib/dpkg/info/{pkg}.list", fs)
            self.assertNotIn("not found", r.stderr, f"{pkg} is not installed")
        keyname = f"/etc/cryptsetup-keys.d/luks-{out['luks_uuid']}.key"
        run("cryptsetup", "open", "--test-passphrase", "--key-slot", "1", "--key-file", "-", hdr,
            input=self.guest_cat(fs, keyname))
        self.assertIn("GRUB_ENABLE_CRYPTODISK=y", self.guest_cat(fs, "/etc/default/grub"))
        self.assertGreater(len(run("mdir", "-i", f"{img}@@1M", "::/EFI/BOOT").stdout), 0)


def main():
    global VIRT_ALEPH, EXAMPLES, SLOW
    if len(sys.argv) < 3:
        print(__doc__ or "test-examples.py VIRT-ALEPH EXAMPLES-DIR [--slow]", file=sys.stderr)
        return 2
    VIRT_ALEPH, EXAMPLES = sys.argv[1], sys.argv[2]
    SLOW = "--slow" in sys.argv[3:]
    if os.geteuid() != 0:
        print("needs root (loop mounts, chroot)", file=sys.stderr)
        return 77
    for tool in ("qemu-img", "cryptsetup", "sfdisk", "debugfs", "mkfs.ext4", "mkfs.vfat",
                 "mdir"):
        if shutil.which(tool) is None:
            print(f"{tool} missing", file=sys.stderr)
            return 77
    if not os.access("/bin/busybox", os.X_OK):
        print("busybox-static missing", file=sys.stderr)
        return 77
    suite = unittest.TestSuite()
    loader = unittest.TestLoader()
    names = ["test_debian_12"] if SLOW else [n for n in loader.getTestCaseNames(Examples)
                                              if n != "test_debian_12"]
    for n in names:
        suite.addTest(Examples(n))
    ok = unittest.TextTestRunner(verbosity=2).run(suite).wasSuccessful()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
