"""What the CLI tests share: where the source and build trees are, and the exit codes
docs/exit-codes.md documents for each error class."""
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.abspath(os.path.join(HERE, "..", ".."))
BUILD = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(SRC, "build"))
VIRT_ALEPH = os.path.join(BUILD, "plugin", "cli", "virt-aleph")


def documented_exit_codes():
    """{class name: exit code} from the table in docs/exit-codes.md."""
    codes = {}
    with open(os.path.join(SRC, "docs", "exit-codes.md")) as f:
        for line in f:
            m = re.match(r"^\|\s*(\d+)\s*\|\s*`([a-z-]+)`", line)
            if m:
                codes[m.group(2)] = int(m.group(1))
    return codes


EXIT = documented_exit_codes()


def domain(name, uuid, metadata=""):
    """One <domain> of a test:///path node file, tagged or not by @metadata."""
    return f"""  <domain type='test'>
    <name>{name}</name>
    <uuid>{uuid}</uuid>
    <memory unit='MiB'>512</memory>
    <vcpu>1</vcpu>
    <os><type arch='x86_64'>hvm</type></os>
    <metadata>{metadata}</metadata>
    <devices>
      <disk type='file' device='disk'><source file='/var/lib/{name}.img'/><target dev='vda' bus='virtio'/></disk>
    </devices>
  </domain>
"""
