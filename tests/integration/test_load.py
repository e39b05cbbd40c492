#!/usr/bin/python3
"""virt-alephd under load (suite 'slow', root):  test_load.py BUILDDIR

- Start-up: 1,000 tagged domains reconciled (each one's status written) within 10 s, the
  daemon's peak RSS under 64 MiB.
- Many at once: 20 tagged domains published at once to the devnet all reach running, each
  exactly once (one STORE of its image, one INSTANCE), first with the default pool, then
  with one flow at a time ([daemon] max-flows=1); the wall times and the daemon's peak RSS
  are printed side by side, and the pool must be faster.
"""
import os
import signal
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_integration import Env, TAG_NS, VIRT_ALEPHD, wait_for  # noqa: E402
from test_aleph_flow import DevnetFlowCase  # noqa: E402

MIB = 1024  # ru_maxrss is in KiB


def stop_measured(proc):
    """SIGTERM, then the exit status and peak RSS (KiB) of the process."""
    proc.send_signal(signal.SIGTERM)
    end = time.monotonic() + 30
    while time.monotonic() < end:
        pid, status, ru = os.wait4(proc.pid, os.WNOHANG)
        if pid == proc.pid:
            proc.returncode = os.waitstatus_to_exitcode(status)
            return proc.returncode, ru.ru_maxrss
        time.sleep(0.05)
    proc.kill()
    _, status, ru = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    raise AssertionError("virt-alephd did not stop within 30 s of SIGTERM")


class StartupReconcile(unittest.TestCase):
    N = 1000

    def test_thousand_domains(self):
        env = Env()
        try:
            self.check(env)
        finally:
            env.close()

    def check(self, env):
        tag = f'<aleph:confidential xmlns:aleph="{TAG_NS}"><aleph:local mode="test"/></aleph:confidential>'
        cmds = []
        for i in range(self.N):
            path = os.path.join(env.dir, f"r{i:04d}.xml")
            with open(path, "w") as f:
                f.write(f"""<domain type='qemu'><name>r{i:04d}</name><metadata>{tag}</metadata>
<memory unit='MiB'>64</memory><os><type arch='x86_64' machine='pc'>hvm</type></os>
<devices><disk type='file' device='disk'><source file='{env.dir}/r{i:04d}.img'/>
<target dev='vda' bus='virtio'/></disk></devices></domain>""")
            cmds.append(f"define {path}")
        # one virsh for all of them
        for k in range(0, len(cmds), 200):
            env.virsh("; ".join(cmds[k:k + 200]))
        config = os.path.join(env.dir, "virt-alephd.conf")
        with open(config, "w") as f:
            f.write(f"[pipeline]\nstate-dir={env.dir}/aleph-state\n")
        t0 = time.monotonic()
        with open(env.daemon_log, "a") as log:
            proc = subprocess.Popen([VIRT_ALEPHD, "--foreground", "--connect", env.uri,
                                     "--config", config],
                                    stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_for(lambda: env.daemon_output().count(": ready at step validate") >= self.N
                     or proc.poll() is not None, 60, f"{self.N} statuses")
            elapsed = time.monotonic() - t0
        finally:
            rc, rss = stop_measured(proc)
        out = env.daemon_output()
        self.assertEqual(rc, 0, out[-3000:])
        self.assertEqual(out.count(": ready at step validate"), self.N, out[-3000:])
        print(f"\nstart-up reconcile of {self.N} tagged domains: {elapsed:.2f} s, "
              f"peak RSS {rss / MIB:.1f} MiB (limits 10 s, 64 MiB)", file=sys.stderr)
        self.assertLess(elapsed, 10.0)
        self.assertLess(rss, 64 * MIB)
        # every status is there, as libvirt keeps it
        self.assertEqual(env.status("r0000")["state"], "ready")
        self.assertEqual(env.status(f"r{self.N - 1:04d}")["state"], "ready")


class ConcurrentFlows(DevnetFlowCase):
    ATTACKS = ["none"]
    N = 20

    def tag(self):
        fw = self.devnet.info["firmware"]
        return (f'<aleph:confidential xmlns:aleph="{TAG_NS}">'
                f'<aleph:firmware sha256="{fw["sha256"]}" ref="{fw["item_hash"]}"/>'
                f'<aleph:publish api="{self.devnet.ccn}" crn="auto"/>'
                '</aleph:confidential>')

    def run_batch(self, prefix, max_flows):
        """Defines N domains at once, runs virt-alephd until all are running; (wall s, RSS KiB)."""
        env = self.env
        config = os.path.join(env.dir, f"{prefix}.conf")
        with open(self.config) as f:
            text = f.read()
        # no monitor checks in the way: the flows alone are measured
        text = text.replace("monitor-interval=1", "monitor-interval=3600")
        if max_flows is not None:
            text = text.replace("[daemon]\n", f"[daemon]\nmax-flows={max_flows}\n", 1)
        with open(config, "w") as f:
            f.write(text)
        names = [f"{prefix}{i:02d}" for i in range(self.N)]
        for name in names:
            env.define(name, self.tag())
        stores0 = len(self.devnet.messages(self.address, "STORE"))
        instances0 = len(self.devnet.messages(self.address, "INSTANCE"))
        t0 = time.monotonic()
        with open(env.daemon_log, "a") as log:
            proc = subprocess.Popen([VIRT_ALEPHD, "--foreground", "--connect", env.uri, "--config", config],
                                    stdout=log, stderr=subprocess.STDOUT)
        try:
            # a transient failure (a CRN slow to answer on a loaded machine) is retried by the
            # daemon, resuming its saved state: only the end counts, and each message once
            states = []

            def all_running():
                states[:] = [(env.status(n) or {}).get("state") for n in names]
                if proc.poll() is not None:
                    raise AssertionError(f"{prefix}: virt-alephd exited\n{env.daemon_output()[-6000:]}")
                return all(s == "running" for s in states)
            try:
                wait_for(all_running, 2400, f"{self.N} domains running")
            except AssertionError as e:
                raise AssertionError(f"{prefix}: {e}: {states}\n{env.daemon_output()[-6000:]}")
            elapsed = time.monotonic() - t0
        finally:
            rc, rss = stop_measured(proc)
        self.assertEqual(rc, 0)
        # each domain once: one STORE of its image, one INSTANCE, all different
        statuses = [env.status(n) for n in names]
        stores = self.devnet.messages(self.address, "STORE")
        instances = self.devnet.messages(self.address, "INSTANCE")
        self.assertEqual(len(stores) - stores0, self.N)
        self.assertEqual(len(instances) - instances0, self.N)
        cids = sorted(st["imageCid"] for st in statuses)
        self.assertEqual(len(set(cids)), self.N)
        stored = sorted(m["content"]["item_hash"] for m in stores
                        if m["content"].get("item_hash") in set(cids))
        self.assertEqual(stored, cids)
        published = {m["item_hash"] for m in instances}
        self.assertEqual(sorted(st["instance"] for st in statuses),
                         sorted(h for h in published if h in {st["instance"] for st in statuses}))
        self.assertEqual(len({st["instance"] for st in statuses}), self.N)
        return elapsed, rss

    def test_twenty_at_once(self):
        pool_s, pool_rss = self.run_batch("c", None)
        seq_s, seq_rss = self.run_batch("s", 1)
        print(f"\n{self.N} domains published at once: pool {pool_s:.1f} s (peak RSS "
              f"{pool_rss / MIB:.1f} MiB), one at a time {seq_s:.1f} s (peak RSS "
              f"{seq_rss / MIB:.1f} MiB); speed-up {seq_s / pool_s:.2f}x", file=sys.stderr)
        self.assertLess(pool_s, seq_s)


if __name__ == "__main__":
    if os.geteuid() != 0:
        print("load tests need root (a private libvirtd)", file=sys.stderr)
        sys.exit(1)
    unittest.main(argv=[sys.argv[0], "-v"] + sys.argv[2:])
