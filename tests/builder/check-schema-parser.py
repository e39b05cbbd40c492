#!/usr/bin/env python3
# The JSON Schema of builder templates and the C parser accept the same members. The test walks
# the schema: every object it describes (the top level, each source type, each provisioner type,
# disk, disk.luks, passphrase, output, reproducible, publish) and every property of each.
#  - each property has a sample here (a schema property without one fails the test), and a
#    template using it validates against the schema and parses (`virt-aleph build inspect`);
#  - at each object, an unknown member is refused by both, and the members the parser names as
#    expected in that refusal are exactly the schema's properties there.
# Run by meson (suite builder):  check-schema-parser.py SCHEMA VIRT-ALEPH
# SPDX-License-Identifier: LGPL-2.1-or-later
import copy, json, os, re, subprocess, sys, tempfile

try:
    import jsonschema
except ImportError:
    print("python3-jsonschema missing", file=sys.stderr)
    sys.exit(77)

UUID = "01234567-89ab-cdef-0123-456789abcdef"
# a value for each property the schema has, by the path the walk gives it
SAMPLES = {
    "$schema": "https://aleph.cloud/schemas/aleph-confidential/builder-template.schema.json",
    "name": "walk",
    "description": "a template of the walk",
    "variables": {"size": "1GiB"},
    "source": {"type": "directory", "path": "tree"},
    "provision_backend": "chroot",
    "provisioners": [],
    "disk": {"size": "1GiB"},
    "passphrase": {"from_caller": True},
    "output": {"path": "o.img"},
    "reproducible": {"seed": "s", "source_date_epoch": 0},
    "publish": {"storage": "ipfs"},
    "source[directory].type": "directory",
    "source[directory].path": "tree",
    "source[tarball].type": "tarball",
    "source[tarball].path": "root.tar",
    "source[image].type": "image",
    "source[image].path": "disk.qcow2",
    "source[image].format": "qcow2",
    "source[image].partition": "2",
    "source[libvirt-domain].type": "libvirt-domain",
    "source[libvirt-domain].domain": "vm",
    "source[libvirt-domain].disk": "vda",
    "source[debootstrap].type": "debootstrap",
    "source[debootstrap].distribution": "ubuntu",
    "source[debootstrap].suite": "noble",
    "source[debootstrap].mirror": "http://archive.ubuntu.com/ubuntu",
    "source[debootstrap].variant": "minbase",
    "source[debootstrap].include": ["curl", "ca-certificates"],
    "source[debootstrap].components": "main,universe",
    "provisioners[file].type": "file",
    "provisioners[file].source": "motd",
    "provisioners[file].destination": "/etc/motd",
    "provisioners[file].mode": "0644",
    "provisioners[shell].type": "shell",
    "provisioners[shell].inline": ["true"],
    "provisioners[shell].script": "setup.sh",
    "provisioners[shell].environment": {"GREETING": "hello"},
    "provisioners[aleph].type": "aleph",
    "provisioners[aleph].mapper_name": "cr_root",
    "provisioners[aleph].install_packages": False,
    "provisioners[aleph].update_initramfs": False,
    "provisioners[aleph].install_grub": False,
    "provisioners[aleph].kernel_cmdline": "console=ttyS0",
    "disk.layout": "luks2-root",
    "disk.size": "2GiB",
    "disk.esp_size": "50MiB",
    "disk.filesystem": "ext4",
    "disk.label": "root",
    "disk.luks": {"hash": "sha512"},
    "disk.luks.cipher": "aes-xts-plain64",
    "disk.luks.key_size": 256,
    "disk.luks.hash": "sha512",
    "disk.luks.pbkdf_iterations": 1000,
    "disk.luks.uuid": UUID,
    "passphrase.generate": 48,
    "passphrase.file": "pass.txt",
    "passphrase.env": "IMAGE_PASSPHRASE",
    "passphrase.from_caller": True,
    "output.path": "out/o.img",
    "output.manifest": "out/o.manifest.json",
    "reproducible.source_date_epoch": 1700000000,
    "reproducible.seed": "seed",
    "reproducible.disk_guid": UUID,
    "reproducible.filesystem_uuid": UUID,
    "publish.api": "https://api.example.org",
    "publish.storage": "storage",
    "publish.channel": "TEST",
    "publish.account": "eth.key",
    "publish.payment": "hold",
}
BASE = {"source": {"type": "directory", "path": "tree"}, "disk": {"size": "1GiB"},
        "output": {"path": "o.img"}}


def branches(node):
    """{type name: the oneOf branch} of source or a provisioner"""
    out = {}
    for b in node["oneOf"]:
        t = b["properties"]["type"]
        for name in t.get("enum", [t.get("const")]):
            out[name] = b
    return out


def objects(schema):
    """[(path, properties, kind)] of every object the schema describes with fixed members"""
    root = schema["properties"]
    found = [("", root, "root")]
    for name, b in branches(root["source"]).items():
        found.append((f"source[{name}]", b["properties"], "source"))
    for name, b in branches(root["provisioners"]["items"]).items():
        found.append((f"provisioners[{name}]", b["properties"], "provisioner"))
    for name in ("disk", "passphrase", "output", "reproducible", "publish"):
        found.append((name, root[name]["properties"], "section"))
    found.append(("disk.luks", root["disk"]["properties"]["luks"]["properties"], "section"))
    return found


def template_at(path, kind, members):
    """a template whose object at @path holds @members beside what that object needs"""
    t = copy.deepcopy(BASE)
    if kind == "root":
        t.update(members)
        if "reproducible" in members:  # it needs a fixed iteration count and a given passphrase
            t["disk"]["luks"] = {"pbkdf_iterations": 1000}
            t["passphrase"] = {"from_caller": True}
    elif kind == "source":
        name = path[len("source["):-1]
        t["source"] = {"type": name}
        needs = {"libvirt-domain": {"domain": "vm"}, "debootstrap": {"suite": "bookworm"}}
        t["source"].update(needs[name] if name in needs else {"path": "tree"})
        t["source"].update(members)
    elif kind == "provisioner":
        name = path[len("provisioners["):-1]
        p = {"type": name}
        if name == "file":
            p.update(source="motd", destination="/etc/motd")
        if name == "shell" and "script" not in members:
            p["inline"] = ["true"]
        p.update(members)
        t["provisioners"] = [p]
    elif path == "disk.luks":
        t["disk"]["luks"] = dict(members)
    elif path == "disk":
        t["disk"].update(members)
    elif path == "output":
        t["output"].update(members)
    elif path == "reproducible":
        t["disk"]["luks"] = {"pbkdf_iterations": 1000}
        t["passphrase"] = {"from_caller": True}
        t["reproducible"] = {"seed": "s", "source_date_epoch": 0}
        t["reproducible"].update(members)
    else:
        t[path] = dict(members)
    if "variables" in members:
        t["disk"]["size"] = "${var.size}"
    if "publish" in t and t["disk"].get("layout") != "luks2-root" and not any(
            p.get("type") == "aleph" for p in t.get("provisioners", [])):
        # published for Aleph's SEV firmware: the aleph provisioner is required
        t["provisioners"] = t.get("provisioners", []) + [{"type": "aleph"}]
    return t


def parse(virt_aleph, workdir, template):
    path = os.path.join(workdir, "t.json")
    with open(path, "w") as f:
        json.dump(template, f)
    r = subprocess.run([virt_aleph, "--json", "build", "inspect", path], capture_output=True,
                       text=True, timeout=60, env=dict(os.environ, LC_ALL="C"))
    out = json.loads(r.stdout) if r.stdout.strip() else {}
    return r.returncode, out, out.get("error", {}).get("message", r.stderr)


def main():
    schema_path, virt_aleph = sys.argv[1], sys.argv[2]
    with open(schema_path) as f:
        schema = json.load(f)
    jsonschema.Draft202012Validator.check_schema(schema)
    v = jsonschema.Draft202012Validator(schema)
    failures, checked, walked = [], 0, set()
    with tempfile.TemporaryDirectory() as workdir:
        for path, props, kind in objects(schema):
            for name in props:
                key = f"{path}.{name}" if path else name
                walked.add(key)
                if key not in SAMPLES:
                    failures.append(f"{key}: in the schema, no sample in this test: add one")
                    continue
                t = template_at(path, kind, {name: SAMPLES[key]})
                errors = list(v.iter_errors(t))
                if errors:
                    failures.append(f"{key}: the schema refuses the sample: {errors[0].message}")
                rc, out, err = parse(virt_aleph, workdir, t)
                if rc != 0 and not (key == "provision_backend" and "no libguestfs" in err):
                    failures.append(f"{key}: the parser refuses it: {err.strip()}")
                checked += 1
            # an unknown member: both refuse it, and the parser's list is the schema's
            t = template_at(path, kind, {"zz_unknown": "x"})
            if not list(v.iter_errors(t)):
                failures.append(f"{path or '(top level)'}: the schema accepts an unknown member")
            rc, out, err = parse(virt_aleph, workdir, t)
            m = re.search(r"'((?:[^']*\.)?zz_unknown)': unknown member: expected one of (.*)$",
                          err.strip())
            if rc != 2 or m is None:
                failures.append(f"{path or '(top level)'}: unknown member: the parser said {err.strip()!r}")
                continue
            parser_members = set(m.group(2).split(", "))
            if parser_members != set(props):
                failures.append(f"{path or '(top level)'}: the parser knows {sorted(parser_members - set(props))} "
                                f"the schema does not, the schema {sorted(set(props) - parser_members)} "
                                f"the parser does not")
    for key in sorted(set(SAMPLES) - walked):
        failures.append(f"{key}: a sample for a property the schema no longer has")
    for f in failures:
        print("FAIL", f)
    print(f"{checked} properties walked, {len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
