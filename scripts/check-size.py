#!/usr/bin/env python3
"""The size report: source files over 1,000 lines and C functions over 120 lines.

A report, not a gate: it prints what is over the limits and exits 0 (or 1 with --strict when
anything is). It reads the non-test sources (lib, sev, builder, plugin, hooks, devnet, bench).
A function is a definition in the tree's GLib style: its name and parameters start at column 0,
its body opens with "{" and closes with "}" both at column 0; its length counts from the name's
line to the closing brace. Lines of a table inside a function (an initialised array, from
"NAME[] = {" to the line ending "};") do not count: a table is data, not logic.

usage: check-size.py [--strict] [--file-limit N] [--function-limit N] [SOURCE_ROOT]
"""
import argparse
import os
import re
import sys

FOLDERS = ("lib", "sev", "builder", "plugin", "hooks", "devnet", "bench")
NAME = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)\s*\(")
TABLE_START = re.compile(r"\[[^\]]*\]\s*=\s*\{")
# a table whose "= {" clang-format put on the next line
TABLE_NAME = re.compile(r"\[[^\]]*\]\s*$")
TABLE_OPEN = re.compile(r"^\s*=\s*\{")


def source_files(root):
    for top in FOLDERS:
        for dirpath, dirnames, filenames in os.walk(os.path.join(root, top)):
            dirnames[:] = sorted(d for d in dirnames if d != "data")
            for name in sorted(filenames):
                if name.endswith((".c", ".h")):
                    yield os.path.relpath(os.path.join(dirpath, name), root)


def functions(lines):
    """Yields (name, first line number, length without tables) for each definition."""
    i = 0
    n = len(lines)
    while i < n:
        m = NAME.match(lines[i])
        if m is None or lines[i].rstrip().endswith(";"):
            i += 1
            continue
        # The parameters may run over several lines; the body must open at column 0 next.
        j = i
        while j < n and lines[j].rstrip() != "{" and not lines[j].rstrip().endswith(";"):
            if j > i and (NAME.match(lines[j]) or lines[j].startswith("}")):
                break
            j += 1
        if j >= n or lines[j].rstrip() != "{":
            i += 1
            continue
        k = j + 1
        table_lines = 0
        in_table = False
        while k < n and not lines[k].startswith("}"):
            if not in_table:
                in_table = bool(TABLE_START.search(lines[k])) or (
                    bool(TABLE_NAME.search(lines[k])) and k + 1 < n
                    and bool(TABLE_OPEN.match(lines[k + 1])))
            if in_table:
                table_lines += 1
                if lines[k].rstrip().endswith("};"):
                    in_table = False
            k += 1
        if k >= n:
            return
        yield m.group(1), i + 1, (k - i + 1) - table_lines
        i = k + 1


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("root", nargs="?", default=os.path.join(os.path.dirname(__file__), ".."))
    ap.add_argument("--file-limit", type=int, default=1000)
    ap.add_argument("--function-limit", type=int, default=120)
    ap.add_argument("--strict", action="store_true", help="exit 1 when anything is over")
    args = ap.parse_args()
    root = os.path.abspath(args.root)

    long_files = []
    long_functions = []
    for f in source_files(root):
        with open(os.path.join(root, f), encoding="utf-8", errors="replace") as fh:
            lines = fh.read().splitlines()
        if len(lines) > args.file_limit:
            long_files.append((len(lines), f))
        if f.endswith(".c"):
            for name, line, length in functions(lines):
                if length > args.function_limit:
                    long_functions.append((length, f, line, name))

    print(f"files over {args.file_limit} lines: {len(long_files)}")
    for count, f in sorted(long_files, reverse=True):
        print(f"  {count:5d} {f}")
    print(f"functions over {args.function_limit} lines (tables not counted): "
          f"{len(long_functions)}")
    for length, f, line, name in sorted(long_functions, reverse=True):
        print(f"  {length:5d} {f}:{line} {name}")
    over = bool(long_files or long_functions)
    return 1 if (args.strict and over) else 0


if __name__ == "__main__":
    sys.exit(main())
