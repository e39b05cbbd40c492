#!/usr/bin/env python3
"""Our item_content serializer against CPython's json.dumps(separators=(",", ":")), the rule of
the Python SDK and aleph-message: random documents (unicode, escapes, floats of every
magnitude, integers, nesting, key order) and aleph-message's confidential INSTANCE fixture.
Usage: python-json.py ALEPH_HELPER DATA_DIR"""
import hashlib
import json
import math
import os
import random
import struct
import subprocess
import sys
import tempfile

helper, data = sys.argv[1], sys.argv[2]
rnd = random.Random(int.from_bytes(os.urandom(8), "little"))


def rand_str():
    alphabet = ["a", "Z", "0", " ", "\"", "\\", "/", "\n", "\t", "\x01", "\x7f", "é", "€", "ü",
                "\u2028", "😀", "𝄞", "'", "<", "&", "\u00a0"]
    return "".join(rnd.choice(alphabet) for _ in range(rnd.randint(0, 12)))


def rand_float():
    kind = rnd.randint(0, 5)
    if kind == 0:
        return float(rnd.randint(-10**6, 10**6))
    if kind == 1:
        return rnd.uniform(0, 2e9)
    if kind == 2:
        return rnd.uniform(-1, 1) * 10 ** rnd.randint(-30, 30)
    if kind == 3:
        while True:
            f = struct.unpack("<d", os.urandom(8))[0]
            if math.isfinite(f):
                return f
    if kind == 4:
        return round(rnd.uniform(1.6e9, 1.8e9), rnd.randint(0, 7))
    return rnd.choice([0.1, 0.5, 1e16, 1e-5, 1e-4, 123456789.125, 1e22, 5e-324, 1.7976931348623157e308])


def rand_value(depth=0):
    k = rnd.randint(0, 7 if depth < 4 else 4)
    if k == 0:
        return rnd.choice([True, False, None])
    if k == 1:
        return rnd.randint(-2**63, 2**63 - 1)
    if k == 2:
        return rand_float()
    if k in (3, 4):
        return rand_str()
    if k == 5:
        return [rand_value(depth + 1) for _ in range(rnd.randint(0, 4))]
    obj = {}
    for _ in range(rnd.randint(0, 5)):
        obj[rand_str()] = rand_value(depth + 1)
    return obj


docs = [rand_value() for _ in range(400)]
with open(os.path.join(data, "python", "instance_confidential_machine.content.json")) as f:
    fixture = json.load(f)
docs.append(fixture)
with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False) as f:
    for d in docs:
        f.write(json.dumps(d, ensure_ascii=False) + "\n")
    path = f.name
out = subprocess.run([helper, "compact", path], check=True, capture_output=True).stdout.decode()
os.unlink(path)
ours = out.split("\n")[:-1]
fails = 0
for d, o in zip(docs, ours):
    want = json.dumps(d, separators=(",", ":"))
    if o != want:
        fails += 1
        if fails < 5:
            print("not ok - %r\n   ours: %s\n   want: %s" % (d, o, want))
if len(ours) != len(docs):
    fails += 1
    print("not ok - %d outputs for %d documents" % (len(ours), len(docs)))
# the aleph-message fixture: the bytes Python hashes
want = json.dumps(fixture, separators=(",", ":"))
h = hashlib.sha256(ours[-1].encode()).hexdigest()
ok = ours[-1] == want and len(want) == 2429 and h == "b89eba60cbb2c325b770331eb565641379bae86939cb66cbb71d000e1ceb5623"
print("%s - aleph-message instance_confidential_machine content: %d chars, sha256 %s" % ("ok" if ok else "not ok", len(ours[-1]), h))
fails += 0 if ok else 1
print("%d passed, %d failed" % (len(docs) + 1 - fails, fails))
sys.exit(1 if fails else 0)
