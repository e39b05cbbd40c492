#!/usr/bin/python3
"""virt-aleph --json, as scripts use it: every command and subcommand, on a success path where
one needs neither root, a network nor a libvirtd (libvirt's test driver, test:///FILE, stands in
for the domains), and on failure paths (bad arguments, unknown domains, a CRN and a CCN at
http://127.0.0.1:1 where nothing listens).

For each run: stdout holds JSON only (one document, or NDJSON for the streams: apply, attest,
stop, reboot, erase, forget, status --follow), a failure ends with one error object
{"error":{"code","exit","message"}}, and the exit code is the one docs/exit-codes.md documents
for the error's class.

Run by meson (suite 'cli'):  test_cli_json.py BUILDDIR
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import unittest

from clitest import BUILD, EXIT, HERE, SRC, VIRT_ALEPH, domain  # noqa: E402,F401
ALEPH_DEVNET = os.path.join(BUILD, "devnet", "aleph-devnet")
DATA = os.path.join(SRC, "tests", "data")
TAG_NS = "https://aleph.cloud/ns/libvirt/confidential/1"
STATUS_NS = "https://aleph.cloud/ns/libvirt/confidential-status/1"
NOWHERE = "http://127.0.0.1:1"  # nothing listens: connection refused at once


HASH_INSTANCE = "1" * 64
HASH_CRN = "2" * 64
HASH_STORE = "3" * 64
UUID_TAGGED = "0f0c8a7e-8d55-4d6e-9a53-6b0a1c1d2e01"
UUID_FAILED = "0f0c8a7e-8d55-4d6e-9a53-6b0a1c1d2e02"
UUID_LOCAL = "0f0c8a7e-8d55-4d6e-9a53-6b0a1c1d2e03"
UUID_PLAIN = "0f0c8a7e-8d55-4d6e-9a53-6b0a1c1d2e04"

PUBLISH_TAG = (f'<aleph:confidential xmlns:aleph="{TAG_NS}">'
               f'<aleph:publish api="{NOWHERE}" crn="auto"/></aleph:confidential>')
LOCAL_TAG = (f'<aleph:confidential xmlns:aleph="{TAG_NS}">'
             '<aleph:local mode="test"/></aleph:confidential>')


class JsonCliTest(unittest.TestCase):
    """Shared set-up: a test-driver node with four domains, a pipeline configuration with its
    state and log, a key."""

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="ac-cli-json-")
        d = cls.dir
        cls.env = dict(os.environ)
        for var in ("VIRT_ALEPH_DEFAULT_URI", "LIBVIRT_DEFAULT_URI", "G_MESSAGES_DEBUG"):
            cls.env.pop(var, None)
        cls.env["HOME"] = d  # the default key path, never the user's
        cls.key = os.path.join(d, "ethereum.key")
        r = subprocess.run([VIRT_ALEPH, "account", "create", "--key-file", cls.key],
                           capture_output=True, text=True, env=cls.env)
        assert r.returncode == 0, r.stderr
        cls.address = r.stdout.strip()

        # the domains: untagged; published and running (its pipeline state on a CRN nobody
        # answers for); failed (untrusted chain recorded); local only
        running = (f'<alephst:status xmlns:alephst="{STATUS_NS}" state="running" step="running" '
                   f'progress="100"><alephst:aleph instance="{HASH_INSTANCE}" crn="{HASH_CRN}" '
                   f'store="{HASH_STORE}"/></alephst:status>')
        failed = (f'<alephst:status xmlns:alephst="{STATUS_NS}" state="failed" step="attest" '
                  'progress="75"><alephst:error code="untrusted" step="attest">the certificate '
                  'chain does not lead to a trusted root</alephst:error></alephst:status>')
        cls.node = os.path.join(d, "node.xml")
        with open(cls.node, "w") as f:
            f.write("<node>\n")
            f.write(domain("plain", UUID_PLAIN))
            f.write(domain("tagged", UUID_TAGGED, PUBLISH_TAG + running))
            f.write(domain("failed", UUID_FAILED, PUBLISH_TAG + failed))
            f.write(domain("local", UUID_LOCAL, LOCAL_TAG))
            f.write("</node>\n")
        cls.uri = "test://" + cls.node

        state_dir = os.path.join(d, "state")
        cls.config = os.path.join(d, "virt-alephd.conf")
        with open(cls.config, "w") as f:
            f.write(f"[pipeline]\nstate-dir={state_dir}\nkey-file={cls.key}\n"
                    "poll-first-ms=10\npoll-max-ms=20\ntimeout=2\n")
        dom_dir = os.path.join(state_dir, "domains", UUID_TAGGED)
        os.makedirs(dom_dir, mode=0o700)
        os.chmod(os.path.join(state_dir, "domains"), 0o700)
        os.chmod(state_dir, 0o700)
        image = os.path.join(d, "tagged.img")
        with open(image, "wb") as f:
            f.write(b"\0" * 4096)
        # every step done but the attestation
        state = {
            "build": {"done": True, "image": image, "sha256": "4" * 64},
            "store": {"done": True, "hash": HASH_STORE, "cid": "QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG"},
            "crn": {"done": True, "hash": HASH_CRN, "url": NOWHERE},
            "instance": {"done": True, "posted": True, "hash": HASH_INSTANCE},
            "notify": {"done": True},
        }
        with open(os.path.join(dom_dir, "state.json"), "w") as f:
            json.dump(state, f)
        with open(os.path.join(dom_dir, "log"), "w") as f:
            f.write("2026-01-02T03:04:05Z build: building (5%)\n"
                    "2026-01-02T03:05:06Z publish/notify: publishing (70%)\n"
                    "2026-01-02T03:06:07Z attest: failed: \"quoted\" \\ text\n")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)

    # ---- running and checking ------------------------------------------------------------

    def run_cli(self, *args, stdin=None, timeout=120, env=None):
        argv = [VIRT_ALEPH, "--connect", self.uri, "--json"] + [str(a) for a in args]
        r = subprocess.run(argv, input=stdin, capture_output=True, text=True, env=env or self.env,
                           timeout=timeout, cwd=self.dir)
        return r

    def describe(self, r):
        return f"{r.args[3:]}: exit {r.returncode}\nstdout: {r.stdout!r}\nstderr: {r.stderr[-2000:]!r}"

    def check_error_object(self, obj, cls, r):
        self.assertIn("error", obj, self.describe(r))
        err = obj["error"]
        self.assertIsInstance(err, dict, self.describe(r))
        self.assertEqual(err.get("code"), cls, self.describe(r))
        self.assertEqual(err.get("exit"), EXIT[cls], self.describe(r))
        self.assertIsInstance(err.get("message"), str, self.describe(r))
        self.assertTrue(err["message"], self.describe(r))

    def document(self, r):
        """stdout is exactly one JSON document."""
        try:
            return json.loads(r.stdout)
        except ValueError as e:
            self.fail(f"stdout is not one JSON document ({e}): {self.describe(r)}")

    def ndjson(self, r):
        """stdout is NDJSON: one JSON object per line, nothing else."""
        self.assertTrue(r.stdout.endswith("\n"), self.describe(r))
        objs = []
        for line in r.stdout.splitlines():
            try:
                obj = json.loads(line)
            except ValueError as e:
                self.fail(f"stdout line {line!r} is not JSON ({e}): {self.describe(r)}")
            self.assertIsInstance(obj, dict, self.describe(r))
            self.assertTrue("event" in obj or "error" in obj, self.describe(r))
            objs.append(obj)
        self.assertTrue(objs, self.describe(r))
        return objs

    def ok(self, *args, **kw):
        """A one-shot command that succeeds: its one document."""
        r = self.run_cli(*args, **kw)
        self.assertEqual(r.returncode, 0, self.describe(r))
        doc = self.document(r)
        if isinstance(doc, dict):
            self.assertNotIn("error", doc, self.describe(r))
        return doc

    def ok_stream(self, *args, **kw):
        """A stream that succeeds: its events, the last one the result (when it has one)."""
        r = self.run_cli(*args, **kw)
        self.assertEqual(r.returncode, 0, self.describe(r))
        events = self.ndjson(r)
        for e in events:
            self.assertNotIn("error", e, self.describe(r))
        return events

    def fails(self, cls, *args, **kw):
        """A one-shot command that fails: its one error object, with the documented code."""
        r = self.run_cli(*args, **kw)
        self.assertEqual(r.returncode, EXIT[cls], self.describe(r))
        doc = self.document(r)
        self.assertIsInstance(doc, dict, self.describe(r))
        self.check_error_object(doc, cls, r)
        return doc

    def fails_stream(self, cls, *args, **kw):
        """A stream that fails: events, then one error object as its last line."""
        r = self.run_cli(*args, **kw)
        self.assertEqual(r.returncode, EXIT[cls], self.describe(r))
        events = self.ndjson(r)
        self.check_error_object(events[-1], cls, r)
        for e in events[:-1]:
            self.assertNotIn("error", e, self.describe(r))
            self.assertIn(e["event"], ("status", "progress"), self.describe(r))
        return events

    def write(self, name, content, mode="w", perm=None):
        path = os.path.join(self.dir, name)
        with open(path, mode) as f:
            f.write(content)
        if perm is not None:
            os.chmod(path, perm)
        return path


class TestGlobal(JsonCliTest):
    def test_no_command(self):
        self.fails("invalid-input")

    def test_unknown_command(self):
        self.fails("invalid-input", "frobnicate")

    def test_unknown_option(self):
        # the option parser's error is JSON too (--json given before and after the command)
        self.fails("invalid-input", "status", "--no-such-option", "plain")
        r = subprocess.run([VIRT_ALEPH, "status", "--no-such-option", "--json", "plain"],
                           capture_output=True, text=True, env=self.env)
        self.assertEqual(r.returncode, EXIT["invalid-input"])
        self.check_error_object(self.document(r), "invalid-input", r)

    def test_version(self):
        self.assertIn("version", self.ok("--version"))

    def test_exit_table(self):
        # the table the other tests check against is complete
        for cls in ("internal", "invalid-input", "refused", "untrusted", "mismatch", "network",
                    "remote", "libvirt", "permission", "not-found", "exists", "unsupported",
                    "io", "cancelled"):
            self.assertIn(cls, EXIT)


class TestAccount(JsonCliTest):
    def test_show_create_import(self):
        doc = self.ok("account", "show", "--key-file", self.key)
        self.assertEqual(doc["address"], self.address)
        self.assertFalse(doc["created"])
        k2 = os.path.join(self.dir, "k-created")
        doc = self.ok("account", "create", "--key-file", k2)
        self.assertTrue(doc["created"])
        self.assertEqual(doc["key_file"], k2)
        raw = self.write("raw.key", b"\x01" * 32, "wb")
        doc = self.ok("account", "import", "--key-file", os.path.join(self.dir, "k-imported"), raw)
        self.assertEqual(doc["address"], "0x1a642f0E3c3aF545E7AcBD38b07251B3990914F1")

    def test_failures(self):
        self.fails("not-found", "account", "show", "--key-file", os.path.join(self.dir, "none"))
        self.fails("exists", "account", "create", "--key-file", self.key)
        self.fails("invalid-input", "account", "import", "--key-file", os.path.join(self.dir, "k-bad"), "-",
                   stdin="1234\n")
        self.fails("invalid-input", "account")
        self.fails("invalid-input", "account", "frobnicate")
        loose = os.path.join(self.dir, "k-loose")
        shutil.copyfile(self.key, loose)
        os.chmod(loose, 0o644)
        self.fails("permission", "account", "show", "--key-file", loose)


class TestMessage(JsonCliTest):
    content = os.path.join(DATA, "aleph", "content", "instance-worked.json")

    def test_build_sign_verify(self):
        msg = self.ok("message", "build", "INSTANCE", self.content, "--key-file", self.key,
                      "--time", "1700000000")
        self.assertEqual(msg["type"], "INSTANCE")
        out = os.path.join(self.dir, "m.json")
        doc = self.ok("message", "build", "INSTANCE", self.content, "--key-file", self.key,
                      "--time", "1700000000", "-o", out)
        self.assertEqual(doc["item_hash"], msg["item_hash"])
        self.assertEqual(doc["file"], out)
        unsigned = self.ok("message", "build", "INSTANCE", self.content, "--unsigned",
                           "--sender", self.address, "--time", "1700000000")
        path = self.write("u.json", json.dumps(unsigned))
        signed = self.ok("message", "sign", path, "--key-file", self.key)
        self.assertEqual(signed["signature"], msg["signature"])
        doc = self.ok("message", "verify", out)
        self.assertTrue(doc["valid"])
        self.assertEqual(doc["signer"].lower(), self.address.lower())

    def test_failures(self):
        out = os.path.join(self.dir, "m2.json")
        self.ok("message", "build", "INSTANCE", self.content, "--key-file", self.key, "-o", out)
        with open(out) as f:
            tampered = f.read().replace("coco-test", "coco-tesT")
        bad = self.write("tampered.json", tampered)
        self.fails("mismatch", "message", "verify", bad)
        self.fails("invalid-input", "message", "build", "INSTANCE",
                   os.path.join(DATA, "aleph", "content", "instance-size-float.json"), "--key-file", self.key)
        self.fails("not-found", "message", "verify", os.path.join(self.dir, "none.json"))
        self.fails("network", "message", "send", out, "--api", NOWHERE, "--timeout", "2")
        self.fails("network", "message", "status", "a" * 64, "--api", NOWHERE)
        self.fails("invalid-input", "message", "frobnicate")
        self.fails("invalid-input", "message", "--time", "soon", "verify", out)


class TestIpfs(JsonCliTest):
    def test_cid_car(self):
        hello = self.write("hello.txt", "hello world")
        doc = self.ok("ipfs", "cid", hello)
        self.assertEqual(doc["cid"], "Qmf412jQZiuVUtdgnB36FXFX7xg5V6KEbSJ4dpQuhkLyfD")
        car = os.path.join(self.dir, "hello.car")
        doc = self.ok("ipfs", "car", hello, car)
        self.assertEqual(doc["car"], car)
        self.assertTrue(os.path.getsize(car) > 0)

    def test_cid_text(self):
        """ipfs's document is json-glib's indented form, byte for byte (the front writes it
        with lib's writer): two spaces, " : ", members in order, the name as given."""
        name = self.write('caf\u00e9 "q"\tx.txt', "hello world")
        for args, members in ((["ipfs", "cid", name], ["cid", "file"]),
                              (["ipfs", "car", name, name + ".car"], ["cid", "file", "car"])):
            r = self.run_cli(*args)
            self.assertEqual(r.returncode, 0, self.describe(r))
            doc = json.loads(r.stdout)
            self.assertEqual(list(doc), members)
            self.assertEqual(r.stdout, json.dumps(doc, indent=2, separators=(",", " : "),
                                                  ensure_ascii=False) + "\n")

    def test_failures(self):
        hello = self.write("hello2.txt", "hello world")
        self.fails("not-found", "ipfs", "cid", os.path.join(self.dir, "none"))
        self.fails("network", "ipfs", "add", hello, "--ipfs-api", NOWHERE)
        self.fails("network", "ipfs", "upload", hello, "--api", NOWHERE, "--unauthenticated")
        self.fails("invalid-input", "ipfs", "upload", hello, "--engine", "floppy")
        self.fails("invalid-input", "ipfs")


class TestBuild(JsonCliTest):
    # a build needs root (chroot, loop devices): its failures only
    def test_failures(self):
        self.fails("invalid-input", "build")
        self.fails("not-found", "build", os.path.join(self.dir, "none.json"))
        bad = self.write("bad-template.json", '{ "disk": ')
        self.fails("invalid-input", "build", bad)


class TestSev(JsonCliTest):
    sev = os.path.join(DATA, "sev")

    def test_verify_chain(self):
        doc = self.ok("sev", "verify-chain", os.path.join(self.sev, "real-chains/rome/chain_sev.bin"))
        self.assertEqual(doc["generation"], "rome")
        self.fails("untrusted", "sev", "verify-chain", "--generation", "milan",
                   os.path.join(self.sev, "real-chains/rome/chain_sev.bin"))
        self.fails("not-found", "sev", "verify-chain", os.path.join(self.dir, "none"))
        self.fails("invalid-input", "sev", "verify-chain")

    def test_session(self):
        pdh = os.path.join(self.sev, "real-chains/rome/pdh.cert")
        out = os.path.join(self.dir, "session")
        os.makedirs(out, exist_ok=True)
        doc = self.ok("sev", "session", pdh, "3", "--no-verify", "--dir", out)
        self.assertEqual(doc["policy"], "0x3")
        self.fails("refused", "sev", "session", pdh, "3", "--dir", out, "--name", "other")
        self.fails("exists", "sev", "session", pdh, "3", "--no-verify", "--dir", out)

    def test_measure(self):
        m = os.path.join(self.sev, "measurement")
        common = ["--api-major", "1", "--build-id", "40", "--policy", "3",
                  "--firmware", os.path.join(m, "sevctl_OVMF.amdsev.fd_trimmed.bin"),
                  "--tik", os.path.join(m, "sevctl_tik1.bin"),
                  "--measurement", "oMDewIouJSpbpNRHj7Mk3p08H2dPZQdsZMU14qIymBnDE/q1EcIWsVBbGy6pkDxA"]
        doc = self.ok("sev", "measure", "--api-minor", "40", *common)
        self.assertEqual(doc["verdict"], "match")
        self.fails("mismatch", "sev", "measure", "--api-minor", "41", *common)
        self.fails("refused", "sev", "measure", "--api-minor", "40", "--min-api", "1.41", *common)
        self.fails("invalid-input", "sev", "measure", "--api-minor", "40")

    def test_secret_build(self):
        s = os.path.join(self.sev, "secret")
        pw = self.write("pw.txt", "MY-LUKS-PASSPHRASE\n", perm=0o600)
        m = os.path.join(self.sev, "measurement")
        # the launch virt-qemu-sev-validate verified (secret/vectors.json "libvirt-luks-key")
        launch = ["--api-major", "1", "--build-id", "40", "--policy", "3",
                  "--firmware", os.path.join(m, "sevctl_OVMF.amdsev.fd_trimmed.bin"),
                  "--tik", os.path.join(m, "sevctl_tik1.bin"), "--tek", os.path.join(s, "sevctl_tek1.bin"),
                  "--measurement", "oMDewIouJSpbpNRHj7Mk3p08H2dPZQdsZMU14qIymBnDE/q1EcIWsVBbGy6pkDxA"]
        keys = ["--api-minor", "40", *launch]
        doc = self.ok("sev", "secret", "build", *keys, "--passphrase-file", pw)
        self.assertIn("packet_header", doc)
        self.assertIn("secret", doc)
        # only a launch that verifies gets a secret
        self.fails("mismatch", "sev", "secret", "build", "--api-minor", "41", *launch, "--passphrase-file", pw)
        self.fails("refused", "sev", "secret", "build", *keys, "--min-api", "1.41", "--passphrase-file", pw)
        self.fails("invalid-input", "sev", "secret", "build", *keys)
        self.fails("not-found", "sev", "secret", "build", *keys, "--passphrase-file", os.path.join(self.dir, "none"))
        # the passphrase alone on one line, as every command reads it: a second line is refused,
        # never sent as part of the passphrase (nor dropped)
        two = self.write("two.txt", "MY-LUKS-PASSPHRASE\nsecond line\n", perm=0o600)
        err = self.fails("invalid-input", "sev", "secret", "build", *keys, "--passphrase-file", two)
        self.assertIn("more than one line", err["error"]["message"])
        self.assertIn(two, err["error"]["message"])
        self.assertNotIn("MY-LUKS", json.dumps(err))
        # a passphrase file group or others can read is refused, not sealed
        shared = self.write("shared.txt", "MY-LUKS-PASSPHRASE\n", perm=0o644)
        err = self.fails("permission", "sev", "secret", "build", *keys, "--passphrase-file", shared)
        self.assertIn(shared + " has mode 0644: expected no access for group and others",
                      err["error"]["message"])
        self.assertNotIn("MY-LUKS", json.dumps(err))
        # the line end is the file's: \n and \r\n seal the same table
        iv = ["--iv", "AAECAwQFBgcICQoLDA0ODw=="]
        crlf = self.write("crlf.txt", "MY-LUKS-PASSPHRASE\r\n", perm=0o600)
        self.assertEqual(self.ok("sev", "secret", "build", *keys, *iv, "--passphrase-file", crlf),
                         self.ok("sev", "secret", "build", *keys, *iv, "--passphrase-file", pw))

    def test_policy_explain(self):
        doc = self.ok("sev", "policy", "explain", "nodbg,es")
        self.assertEqual(doc["policy"], "0x5")
        self.fails("invalid-input", "sev", "policy", "explain", "0x100")

    def test_dispatch(self):
        self.fails("invalid-input", "sev")
        self.fails("invalid-input", "sev", "frobnicate")
        self.fails("invalid-input", "sev", "secret")


class TestTag(JsonCliTest):
    def test_tag(self):
        doc = self.ok("tag", "plain", "--local", "test")
        self.assertEqual(doc["domain"], "plain")
        self.assertIn('<aleph:local mode="test"/>', doc["tag"])
        doc = self.ok("tag", "plain", "--local", "test", "--dry-run")
        self.assertTrue(doc["dryRun"])
        self.assertIn("<aleph:confidential", doc["tag"])
        self.fails("invalid-input", "tag", "plain", "--policy", "0x40")
        self.fails("invalid-input", "tag", "plain", "--disk", "vdz")
        self.fails("invalid-input", "tag", "plain", "--vcpus", "many")
        self.fails("invalid-input", "tag")
        self.fails("not-found", "tag", "no-such-domain", "--local", "test")
        self.fails("not-found", "tag", "plain", "--file", os.path.join(self.dir, "none.xml"))

    def test_tag_snp(self):
        runtime = "ab" * 32
        doc = self.ok("tag", "plain", "--sev-type", "snp", "--policy", "smt,single-socket",
                      "--snp-runtime", runtime, "--local", "deny", "--dry-run")
        self.assertIn('<aleph:sev type="snp" policy="0x130000" runtime="%s"/>' % runtime, doc["tag"])
        self.assertNotIn("<aleph:firmware", doc["tag"])
        doc = self.ok("tag", "plain", "--sev-type", "sev-es", "--local", "test", "--dry-run")
        self.assertIn('<aleph:sev policy="0x5"/>', doc["tag"])
        # an SNP policy with debug, an SEV flag name for SNP, a runtime without snp, a bad type
        doc = self.fails("invalid-input", "tag", "plain", "--sev-type", "snp", "--policy", "0xb0000")
        self.assertIn("DEBUG bit (19)", doc["error"]["message"])
        self.fails("invalid-input", "tag", "plain", "--sev-type", "snp", "--policy", "nodbg")
        doc = self.fails("invalid-input", "tag", "plain", "--snp-runtime", runtime)
        self.assertIn("'runtime' needs type='snp'", doc["error"]["message"])
        doc = self.fails("invalid-input", "tag", "plain", "--sev-type", "tdx")
        self.assertIn("<aleph:sev type='tdx'>", doc["error"]["message"])
        doc = self.fails("invalid-input", "tag", "plain", "--sev-type", "snp", "--firmware-sha256", "a" * 64)
        self.assertIn("<aleph:firmware> cannot be used with <aleph:sev type='snp'>", doc["error"]["message"])

    def test_untag(self):
        doc = self.ok("untag", "tagged")
        self.assertEqual(doc["domain"], "tagged")
        self.assertIs(doc["removed"], True)
        self.assertIs(doc["statusRemoved"], True)
        doc = self.fails("not-found", "untag", "plain")
        self.assertEqual(doc["domain"], "plain")
        self.assertIs(doc["removed"], False)
        self.fails("not-found", "untag", "no-such-domain")

    def test_status(self):
        doc = self.ok("status", "plain")
        self.assertFalse(doc["tagged"])
        doc = self.ok("status", "tagged")
        self.assertTrue(doc["publish"])
        self.assertEqual(doc["tee"], "SEV")
        self.assertEqual(doc["policy"], "0x1")
        self.assertEqual(doc["status"]["state"], "running")
        self.assertEqual(doc["status"]["instance"], HASH_INSTANCE)
        self.fails("not-found", "status", "no-such-domain")
        self.fails("invalid-input", "status", "plain", "tagged")

    def test_status_follow(self):
        events = self.ok_stream("status", "tagged", "--follow", timeout=30)
        self.assertEqual(len(events), 1)
        self.assertEqual(events[0]["event"], "status")
        self.assertEqual(events[0]["state"], "running")
        self.assertEqual(events[0]["instance"], HASH_INSTANCE)
        # a failed state exits with the class it recorded
        events = self.fails_stream("untrusted", "status", "failed", "--follow", timeout=30)
        self.assertEqual(events[0]["state"], "failed")
        self.assertEqual(events[0]["errorCode"], "untrusted")
        self.assertEqual(events[-1]["domain"], "failed")
        self.fails("not-found", "status", "no-such-domain", "--follow")

    def test_validate(self):
        good = self.write("good.xml", LOCAL_TAG)
        doc = self.ok("validate", good)
        self.assertTrue(doc["valid"])
        self.assertIn('<aleph:local mode="test"/>', doc["tag"])
        doc = self.ok("validate", "-", stdin=LOCAL_TAG)
        self.assertTrue(doc["valid"])
        bad = self.write("bad.xml", LOCAL_TAG.replace("test", "sometimes"))
        self.fails("invalid-input", "validate", bad)
        self.fails("invalid-input", "validate", "-", stdin="<not-xml")
        self.fails("not-found", "validate", os.path.join(self.dir, "none.xml"))


class TestPipeline(JsonCliTest):
    def test_apply(self):
        # every step done but the attestation, on a CRN where nothing listens
        self.fails_stream("network", "apply", "tagged", "--config", self.config)
        self.fails("invalid-input", "apply", "local", "--config", self.config)
        self.fails("not-found", "apply", "no-such-domain", "--config", self.config)
        self.fails("invalid-input", "apply", "--config", self.config)
        bad = self.write("bad.conf", "[pipeline]\nmin-api=soon\n")
        self.fails("invalid-input", "apply", "tagged", "--config", bad)

    def test_attest(self):
        # nothing waits for a secret (not attested yet): success, attested false
        events = self.ok_stream("attest", "tagged", "--config", self.config)
        result = events[-1]
        self.assertEqual(result["event"], "result")
        self.assertEqual(result["command"], "attest")
        self.assertEqual(result["domain"], "tagged")
        self.assertIs(result["attested"], False)
        self.fails("not-found", "attest", "plain", "--config", self.config)
        # no <aleph:publish>: the local flow attests, and refuses a domain of mode 'test'; its
        # failed status is reported before the error
        events = self.fails_stream("invalid-input", "attest", "local", "--config", self.config)
        self.assertEqual([(e["event"], e["state"], e["step"]) for e in events[:-1]],
                         [("status", "failed", "attest")])
        self.assertIn("the local SEV flow runs only mode 'sev'",
                      events[-1]["error"]["message"])
        self.fails("not-found", "attest", "no-such-domain", "--config", self.config)

    def test_argument_counts(self):
        # one function checks the count of the arguments after a command's options: each
        # command's own words, the count given or the first argument it does not take
        cases = [
            (["validate"], "validate: expected one FILE, got 0 arguments"),
            (["tag"], "tag: expected one DOMAIN, got 0 arguments"),
            (["untag", "a", "b"], "untag: expected one DOMAIN, got 2 arguments"),
            (["list", "x"], "list: expected no argument, got 'x'"),
            (["adopt", "a"], "adopt: expected DOMAIN INSTANCE_HASH, got 1 arguments"),
            (["adopt", "a", "b", "c"], "adopt: expected DOMAIN INSTANCE_HASH, got 3 arguments"),
            (["apply"], "apply: expected one DOMAIN, got 0 arguments"),
            (["attest", "a", "b"], "attest: expected one DOMAIN, got 2 arguments"),
            (["logs"], "logs: expected one DOMAIN, got 0 arguments"),
            (["console", "a", "b"], "console: expected one DOMAIN, got 2 arguments"),
            (["reboot"], "reboot: expected one DOMAIN, got 0 arguments"),
            (["delete", "a", "b"], "delete: expected one DOMAIN, got 2 arguments"),
            (["build"], "expected one TEMPLATE, got 0 arguments"),
            (["build", "inspect", "a", "b"], "expected one TEMPLATE, got 2 arguments"),
            (["sev", "verify-chain"], "verify-chain takes one FILE, got 0 arguments"),
            (["sev", "session", "x"], "session takes PDH-FILE and POLICY, got 1 arguments"),
            (["sev", "measure", "x"], "measure takes no arguments besides options, got 'x'"),
            (["sev", "secret", "build", "x"],
             "secret build takes no arguments besides options, got 'x'"),
            (["sev", "policy", "explain"], "policy explain takes one POLICY, got 0 arguments"),
            (["snp", "measure", "x"], "measure takes no arguments besides options, got 'x'"),
            (["snp", "report", "show"],
             "snp report show takes one REPORT file, got 0 arguments"),
            (["snp", "policy", "explain", "a", "b"],
             "snp policy explain takes one POLICY, got 2 arguments"),
            (["snp", "make-runtime", "x"],
             "make-runtime takes no arguments besides options, got 'x'"),
            (["snp", "verify-report"],
             "snp verify-report takes one REPORT file, got 0 arguments"),
        ]
        for args, message in cases:
            with self.subTest(args=args):
                doc = self.fails("invalid-input", *args)
                self.assertEqual(doc["error"]["message"], message)

    def test_operations_help(self):
        # one function runs the five operations: each shows its own summary and options
        summaries = {
            "stop": "Stop the domain's instance on its CRN.",
            "reboot": "Reboot the domain's instance on its CRN; the service attests the new "
                      "launch before the passphrase goes again.",
            "erase": "Erase the domain's instance from its CRN (its disk there is deleted; the "
                     "local image and the domain stay).",
            "forget": "Post a FORGET message for the domain's INSTANCE (with --image, its "
                      "image's STORE too).",
            "delete": "Delete the domain's instance as 'aleph instance delete' does: erase it "
                      "from its CRN, then post a FORGET for its INSTANCE (with --image, its "
                      "image's STORE too). The local image and the domain stay.",
        }
        for op, summary in summaries.items():
            with self.subTest(op=op):
                r = subprocess.run([VIRT_ALEPH, op, "--help"], capture_output=True, text=True,
                                   env=self.env, timeout=60, cwd=self.dir)
                self.assertEqual(r.returncode, 0, self.describe(r))
                lines = r.stdout.splitlines()
                self.assertRegex(lines[1], rf"^  {op} \[OPTION.*\] DOMAIN$", self.describe(r))
                self.assertEqual(lines[3], summary, self.describe(r))
                self.assertIn("--config=FILE", r.stdout)
                self.assertEqual("--reason=TEXT" in r.stdout, op in ("forget", "delete"))

    def test_operations(self):
        for op in ("stop", "reboot", "erase"):
            with self.subTest(op=op):
                self.fails_stream("network", op, "tagged", "--config", self.config)
                self.fails("invalid-input", op, "local", "--config", self.config)
                self.fails("not-found", op, "no-such-domain", "--config", self.config)
                self.fails("invalid-input", op, "--config", self.config)
        self.fails_stream("network", "forget", "tagged", "--image", "--config", self.config)
        self.fails("not-found", "forget", "no-such-domain", "--config", self.config)
        self.fails("invalid-input", "forget", "tagged", "--reason")
        # delete = erase + forget: the erase fails first (nothing forgotten), forget's options
        events = self.fails_stream("network", "delete", "tagged", "--image", "--reason", "r",
                                   "--config", self.config)
        self.assertIn("delete: erase failed, no FORGET posted: ", events[-1]["error"]["message"])
        self.fails("invalid-input", "delete", "local", "--config", self.config)
        self.fails("not-found", "delete", "no-such-domain", "--config", self.config)
        self.fails("invalid-input", "delete", "--config", self.config)
        self.fails("invalid-input", "delete", "tagged", "--reason")

    def test_logs(self):
        doc = self.ok("logs", "tagged", "--config", self.config)
        self.assertEqual(doc["domain"], "tagged")
        events = doc["events"]
        self.assertEqual(events[0], {"time": "2026-01-02T03:04:05Z", "message": "build: building (5%)"})
        self.assertEqual(events[2]["message"], 'attest: failed: "quoted" \\ text')
        doc = self.fails("not-found", "logs", "plain", "--config", self.config)
        # where to look next: the service's own log (no journal here: syslog)
        self.assertIn("virt-alephd's own log: syslog, lines tagged virt-alephd",
                      doc["error"]["message"])
        self.fails("not-found", "logs", "no-such-domain", "--config", self.config)

    def test_logs_says_where_the_service_log_is(self):
        env = dict(self.env)
        env["VIRT_ALEPH_JOURNAL_SOCKET"] = os.path.join(self.dir, "no-journal")
        doc = self.ok("logs", "tagged", "--config", self.config, env=env)
        self.assertIn("syslog, lines tagged virt-alephd", doc["serviceLog"])
        # a journal runs: the journalctl command that shows this domain's messages
        import socket
        path = os.path.join(self.dir, "journal.sock")
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
            s.bind(path)
            env["VIRT_ALEPH_JOURNAL_SOCKET"] = path
            doc = self.ok("logs", "tagged", "--config", self.config, env=env)
            self.assertEqual(doc["serviceLog"], f"journalctl -t virt-alephd DOMAIN_UUID={UUID_TAGGED}")
            # without --json: the log on stdout as it is, the hint on stderr
            r = subprocess.run([VIRT_ALEPH, "--connect", self.uri, "logs", "tagged", "--config",
                                self.config], capture_output=True, text=True, env=env)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertTrue(r.stdout.startswith("2026-01-02T03:04:05Z build: building (5%)\n"))
            self.assertNotIn("journalctl", r.stdout)
            self.assertIn(f"virt-alephd's own log: journalctl -t virt-alephd DOMAIN_UUID={UUID_TAGGED}\n",
                          r.stderr)
        os.unlink(path)


class TestDoctor(JsonCliTest):
    def test_doctor(self):
        env = dict(self.env, VIRT_ALEPH_JOURNAL_SOCKET=os.path.join(self.dir, "no-journal"))
        checks = self.ok("doctor", "--config", self.config, "--no-probe", env=env)
        self.assertIsInstance(checks, list)
        self.assertIn("libvirt", [c["check"] for c in checks])
        # running or not, where the service's own log is
        service = [c for c in checks if c["check"] == "service"][0]
        self.assertIn("its log: syslog, lines tagged virt-alephd", service["detail"])
        # SEV-SNP readiness: the local flow's own check, a warning naming what it needs and
        # what this libvirt has (the test driver: no domain capabilities)
        snp = [c for c in checks if c["check"] == "libvirt-snp"][0]
        self.assertEqual(snp["result"], "warning", snp)
        self.assertIn("needs libvirt >= 10.5.0 and QEMU >= 9.1.0", snp["detail"])
        self.assertIn("found libvirt ", snp["detail"])
        self.assertIn("no sev-snp in its domain capabilities", snp["detail"])
        # a failed attestation recorded as untrusted: the first failure's class
        doc = self.fails("untrusted", "doctor", "failed", "--config", self.config, "--no-probe")
        self.assertIn("attestation", [c["check"] for c in doc["checks"] if c["result"] == "failed"])
        # the domain's CRN (from its pipeline state) does not answer
        doc = self.fails("network", "doctor", "tagged", "--config", self.config, "--no-probe")
        self.assertIn("crn", [c["check"] for c in doc["checks"] if c["result"] == "failed"])
        self.fails("network", "doctor", "--crn", NOWHERE, "--config", self.config, "--no-probe")
        self.fails("not-found", "doctor", "no-such-domain", "--config", self.config, "--no-probe")
        self.fails("invalid-input", "doctor", "plain", "tagged", "--config", self.config)

    def test_doctor_hook_config(self):
        # the hook must read the launch records where virt-alephd writes them
        with open(self.config) as f:
            state = [l.split("=", 1)[1].strip() for l in f if l.startswith("state-dir=")][0]
        conf = os.path.join(self.dir, "hook.conf")
        for hook_state, want in ((state, "ok"), (os.path.join(self.dir, "elsewhere"), "warning")):
            with open(conf, "w") as f:
                f.write(f"[hook]\nstate-dir={hook_state}\n")
            checks = self.ok("doctor", "--config", self.config, "--no-probe",
                             env=dict(self.env, ALEPH_CONFIDENTIAL_HOOK_CONF=conf))
            check = [c for c in checks if c["check"] == "hook-config"][0]
            self.assertEqual(check["result"], want, check)
        self.assertIn(os.path.join(self.dir, "elsewhere"), check["detail"])
        # a hook configuration that does not parse: a failure of its class
        with open(conf, "w") as f:
            f.write("[hook]\nhost-sev=maybe\n")
        doc = self.fails("invalid-input", "doctor", "--config", self.config, "--no-probe",
                         env=dict(self.env, ALEPH_CONFIDENTIAL_HOOK_CONF=conf))
        failed = [c for c in doc["checks"] if c["result"] == "failed"]
        self.assertEqual([c["check"] for c in failed], ["hook-config"])
        self.assertIn("host-sev", failed[0]["detail"])


class TestDevnet(JsonCliTest):
    def test_failures(self):
        self.fails("invalid-input", "devnet")
        self.fails("invalid-input", "devnet", "--crns", "many")

    def test_ready_line(self):
        if not os.access(ALEPH_DEVNET, os.X_OK):
            self.skipTest("aleph-devnet is not built (needs libsoup-3.0 and sqlite3)")
        state = os.path.join(self.dir, "devnet")
        p = subprocess.Popen([VIRT_ALEPH, "--connect", self.uri, "--json", "devnet", "--state-dir", state],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=self.env)
        try:
            line = p.stdout.readline()
            ready = json.loads(line)
            self.assertTrue(ready["ready"])
            self.assertTrue(ready["ccn"].startswith("http://127.0.0.1:"))
            p.send_signal(signal.SIGTERM)
            rest, err = p.communicate(timeout=60)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
        self.assertEqual(p.returncode, 0, err)
        self.assertEqual(rest, "")


if __name__ == "__main__":
    if not os.access(VIRT_ALEPH, os.X_OK):
        print(f"{VIRT_ALEPH} is not built", file=sys.stderr)
        sys.exit(1)
    unittest.main(argv=[sys.argv[0], "-v"] + sys.argv[2:])
