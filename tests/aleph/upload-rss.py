#!/usr/bin/env python3
"""`virt-aleph ipfs upload` streams: a 256 MiB file goes to a local server (which reads and
drops the body) while the client's peak RSS stays far below the file size, for each engine.
Usage: upload-rss.py VIRT_ALEPH"""
import http.server
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading

virt_aleph = sys.argv[1]
SIZE = 256 * 1024 * 1024
LIMIT_KIB = 64 * 1024
received = {}


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        left = n
        while left > 0:
            chunk = self.rfile.read(min(left, 1 << 20))
            if not chunk:
                break
            left -= len(chunk)
        received[self.path] = n - left
        body = json.dumps({"status": "success", "hash": self.server.answer}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def main():
    fails = 0
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "big.bin")
        with open(path, "wb") as f:
            for _ in range(SIZE // (1 << 20)):
                f.write(os.urandom(1 << 20))
        cid = subprocess.run([virt_aleph, "--quiet", "ipfs", "cid", path], check=True,
                             capture_output=True, text=True).stdout.strip()
        srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        api = "http://127.0.0.1:%d" % srv.server_address[1]
        for engine in ("car", "ipfs"):
            srv.answer = cid
            before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
            p = subprocess.run([virt_aleph, "--quiet", "ipfs", "upload", path, "--engine", engine,
                                "--unauthenticated", "--api", api], capture_output=True, text=True,
                               env=dict(os.environ, no_proxy="127.0.0.1"))
            rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
            endpoint = "/api/v0/ipfs/add_car" if engine == "car" else "/api/v0/ipfs/add_file"
            got = received.get(endpoint, 0)
            ok = p.returncode == 0 and p.stdout.strip() == cid and got > SIZE and rss < LIMIT_KIB
            print("%s - upload %s: exit %d, %d bytes received, peak RSS of the children so far %d KiB (limit %d)%s"
                  % ("ok" if ok else "not ok", engine, p.returncode, got, rss, LIMIT_KIB,
                     "" if ok else ": " + p.stderr.strip()))
            fails += 0 if ok else 1
            del before
        srv.shutdown()
    print("%d passed, %d failed" % (2 - fails, fails))
    return 1 if fails else 0


sys.exit(main())
