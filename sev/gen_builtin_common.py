# The parts that sev/gen-sev-builtin.py and sev/gen-snp-builtin.py share: reading a pins file
# and writing a certificate as a C array.


def read_pins(path):
    """the fields of each line of the pins file @path (blank lines and comments skipped)"""
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith('#'):
                continue
            yield line.split()


def first_seen(names):
    """@names without repeats, in the order they first appear"""
    out = []
    for name in names:
        if name not in out:
            out.append(name)
    return out


def write_array(out, name, data):
    """@data as `static const guint8 @name[]`, 16 bytes a line"""
    out.write(f'static const guint8 {name}[{len(data)}] = {{\n')
    for i in range(0, len(data), 16):
        out.write('\t' + ', '.join(f'0x{b:02x}' for b in data[i:i + 16]) + ',\n')
    out.write('};\n\n')
