#!/usr/bin/python3
"""bench-memory: peak RSS of build, CAR upload and publish stays flat with the image's size.

A sparse source disk of SIZE MiB (default 4096: an ext4 filesystem, mostly holes) is
  1. built into the encrypted image (`virt-aleph build`: filesystem copy, AES-XTS, CID),
     against the peer `qemu-img convert` into a LUKS image of the same source (its header
     made beforehand, untimed, with the PBKDF pinned, as in bench-builder);
  2. uploaded as a CAR with its STORE message, i.e. published (`virt-aleph ipfs upload
     --engine car --key-file`), to the devnet's CCN, against the peer `curl -T` of the same
     image to a sink that reads and drops the body.
Each runs as a child measured with wait4 (peak RSS of that process alone). Prints the times,
the peak RSS and ratios ours/peer; fails (exit 1) when a peer fails (no ratio without both
runs) or when one of ours exceeds 64 MiB. A benchmark, not a test: run it by hand
(`ninja -C build bench-memory-run`), as root.

    bench-memory.py BUILDDIR [SIZE_MIB] [DIR]
"""
import http.server
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

BUILD = os.path.abspath(sys.argv[1])
SIZE_MIB = int(sys.argv[2]) if len(sys.argv) > 2 else 4096
BASE = sys.argv[3] if len(sys.argv) > 3 else "/var/tmp"
LIMIT_KIB = 64 * 1024
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
sys.argv = [sys.argv[0], BUILD]  # the harness reads the build directory from argv[1]
from test_aleph_flow import DEVNET, Devnet  # noqa: E402


class BigDevnet(Devnet):
    """The devnet with room for the image: its CCN takes uploads up to max_upload (1 GiB by
    default), and holds one in memory while it checks it."""

    def __init__(self, directory, max_upload):
        self.dir = os.path.join(directory, "devnet")
        os.makedirs(self.dir, exist_ok=True)
        path = os.path.join(self.dir, "devnet.json")
        with open(path, "w") as f:
            json.dump({"state_dir": os.path.join(self.dir, "state"), "rsa_bits": 2048,
                       "crns": [{"attack": "none"}], "max_upload": max_upload}, f)
        self.log = open(os.path.join(self.dir, "devnet.log"), "w")
        self.proc = subprocess.Popen([DEVNET, "--config", path], stdout=subprocess.PIPE,
                                     stderr=self.log, text=True)
        line = self.proc.stdout.readline()
        if not line:
            raise AssertionError("aleph-devnet did not start; see " + self.log.name)
        self.info = json.loads(line)
        self.ccn = self.info["ccn"]
        self.admin = self.info["admin"]

VIRT_ALEPH = os.path.join(BUILD, "plugin", "cli", "virt-aleph")


def measured(argv, **kw):
    """Runs argv; (exit code, seconds, peak RSS KiB, stderr)."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        t = time.monotonic()
        p = subprocess.Popen(argv, stdout=out, stderr=err, text=True, **kw)
        # reaped here, with its own rusage
        _, status, ru = os.wait4(p.pid, 0)
        elapsed = time.monotonic() - t
        p.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return p.returncode, elapsed, ru.ru_maxrss, out.read(), err.read()


class Sink(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_PUT(self):
        left = int(self.headers.get("Content-Length", "0"))
        while left > 0:
            chunk = self.rfile.read(min(left, 1 << 20))
            if not chunk:
                break
            left -= len(chunk)
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def fail(what, rc, err):
    print(f"bench-memory: FAILED: {what} (exit {rc}): {err.strip()[-2000:]}", file=sys.stderr)
    return 1


def main():
    d = tempfile.mkdtemp(prefix="bench-memory-", dir=BASE)
    try:
        return run(d)
    finally:
        shutil.rmtree(d, ignore_errors=True)


def run(d):
    src = os.path.join(d, "source.img")
    with open(src, "wb") as f:
        f.truncate(SIZE_MIB * 1024 * 1024)
    tree = os.path.join(d, "tree")
    os.makedirs(os.path.join(tree, "etc"))
    with open(os.path.join(tree, "etc", "hostname"), "w") as f:
        f.write("bench\n")
    subprocess.run(["mkfs.ext4", "-q", "-F", "-L", "rootfs", "-d", tree, src], check=True)
    used = os.stat(src).st_blocks * 512 // (1024 * 1024)
    print(f"bench-memory: {SIZE_MIB} MiB sparse source ({used} MiB allocated) in {d}, "
          f"{os.cpu_count()} CPUs")

    # 1. the build, against qemu-img convert into LUKS
    image = os.path.join(d, "image.img")
    disk = (SIZE_MIB + SIZE_MIB // 4 + 116) * 1024 * 1024
    tpl = os.path.join(d, "template.json")
    with open(tpl, "w") as f:
        json.dump({"name": "bench", "source": {"type": "image", "path": src, "format": "raw"},
                   "disk": {"size": disk}, "output": {"path": image}}, f)
    rc, ours_build_s, ours_build_rss, _, err = measured(
        [VIRT_ALEPH, "--quiet", "build", tpl, "--passphrase-out", os.path.join(d, "pass")])
    if rc != 0:
        return fail("ours, virt-aleph build", rc, err)
    peer = os.path.join(d, "peer.img")
    secret = os.path.join(d, "peer.pass")
    with open(secret, "w") as f:
        f.write("bench passphrase")
    # qemu-img calibrates its PBKDF over iter-time ms of CPU and gives up ("Unable to get
    # accurate CPU usage") when a loaded machine leaves it too little: tried again, longer
    for iter_ms in (10, 10, 10, 50, 100, 200):
        r = subprocess.run(["qemu-img", "create", "-q", "-f", "luks", "--object", f"secret,id=s0,file={secret}",
                            "-o", "key-secret=s0,cipher-alg=aes-256,cipher-mode=xts,ivgen-alg=plain64,"
                            f"hash-alg=sha256,iter-time={iter_ms}", peer, str(SIZE_MIB * 1024 * 1024)],
                           capture_output=True, text=True)
        if r.returncode == 0:
            break
    if r.returncode != 0:
        return fail("peer, qemu-img create", r.returncode, r.stderr)
    rc, peer_build_s, peer_build_rss, _, err = measured(
        ["qemu-img", "convert", "-n", "-f", "raw", "--object", f"secret,id=s0,file={secret}",
         "--target-image-opts", src, f"driver=luks,key-secret=s0,file.filename={peer}"])
    subprocess.run(["sync", peer])
    if rc != 0:
        return fail("peer, qemu-img convert", rc, err)
    os.unlink(peer)
    image_mib = os.path.getsize(image) // (1024 * 1024)

    # 2. CAR upload and STORE message to the devnet's CCN, against curl -T to a sink
    devnet = BigDevnet(d, os.path.getsize(image) + (64 << 20))
    try:
        key = os.path.join(d, "ethereum.key")
        subprocess.run([VIRT_ALEPH, "account", "create", "--key-file", key], check=True,
                       capture_output=True)
        rc, ours_pub_s, ours_pub_rss, out, err = measured(
            [VIRT_ALEPH, "--quiet", "ipfs", "upload", image, "--engine", "car", "--api", devnet.ccn,
             "--key-file", key], env=dict(os.environ, no_proxy="127.0.0.1,localhost"))
        if rc != 0:
            return fail("ours, virt-aleph ipfs upload --engine car (publish)", rc, err)
    finally:
        devnet.close()
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Sink)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    rc, peer_pub_s, peer_pub_rss, _, err = measured(
        ["curl", "-sS", "--fail", "--noproxy", "*", "-T", image, f"http://127.0.0.1:{srv.server_address[1]}/img"])
    srv.shutdown()
    if rc != 0:
        return fail("peer, curl -T", rc, err)

    def row(what, s, rss, mib):
        over = "" if rss < LIMIT_KIB else "  ** over 64 MiB **"
        return f"  {what:44s} {s:7.1f} s  {mib / s:7.1f} MiB/s  peak RSS {rss / 1024:5.1f} MiB{over}"
    print(row("ours, build (virt-aleph build)", ours_build_s, ours_build_rss, SIZE_MIB))
    print(row("peer, qemu-img convert to LUKS", peer_build_s, peer_build_rss, SIZE_MIB))
    print(row(f"ours, CAR upload + STORE ({image_mib} MiB image)", ours_pub_s, ours_pub_rss, image_mib))
    print(row("peer, curl -T to a sink", peer_pub_s, peer_pub_rss, image_mib))
    print(f"  ratio time ours/qemu-img (build)          {ours_build_s / peer_build_s:.2f}")
    print(f"  ratio time ours/curl (upload, publish)    {ours_pub_s / peer_pub_s:.2f}")
    print(f"  ratio peak RSS build ours/qemu-img        {ours_build_rss / peer_build_rss:.2f}")
    print(f"  ratio peak RSS upload ours/curl           {ours_pub_rss / peer_pub_rss:.2f}")
    if max(ours_build_rss, ours_pub_rss) >= LIMIT_KIB:
        print("bench-memory: FAILED: a peak RSS of ours is 64 MiB or more", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
