#!/usr/bin/env python3
"""Footprint and portability checks of the Cortex-M image (run by the build).

Reads the linked ELF (through arm-none-eabi-nm and -size), the linker map
and the call graph GCC wrote for every object (-fcallgraph-info=su: one
.ci file per source, each function with its own stack frame from
-fstack-usage and its calls).  Prints, and writes to --out:

- flash (text + rodata + the initial values of .data) and RAM (.data,
  .bss, the stack reserved), split by component;
- the worst-case stack: the deepest path of frames from reset_handler,
  following every call (the ports are bound at link time and the applet
  dispatches with a switch, so the graph is complete).

Fails (exit 1) on what the firmware rules forbid: floating point,
recursion, a frame of dynamic size, any indirect call (a function
pointer), or a worst-case stack larger than the stack the linker script
reserves.
"""
import argparse
import collections
import os
import re
import subprocess
import sys

# Not compiled here, so absent from the call graph: libgcc's integer
# division and switch helpers (hand-written assembly).  Bound: twice the
# largest frame any of them pushes in libgcc's ARMv6-M code (8 bytes,
# push {r0, lr} on the division-by-zero path of __udivsi3 and __divsi3).
LIBGCC_FRAME = 16
LIBGCC = re.compile(r"^__(aeabi_\w+|gnu_thumb1_case_\w+|(u)?divsi3|"
                    r"(u)?modsi3)$")
# Soft floating point routines: their presence means the code uses float.
FLOAT = re.compile(r"^__aeabi_([fd]\w+|u?[il]2[fd])$|^__\w*[sdt]f\d?$|"
                   r"^__(float|fix)\w+$")
# Hardware pushes 8 words when it takes an exception (a fault here).
EXCEPTION_FRAME = 32

NODE = re.compile(r'^node: \{ title: "([^"]+)" label: "([^"]+)"')
EDGE = re.compile(r'^edge: \{ sourcename: "([^"]+)" targetname: "([^"]+)"')


def parse_callgraph(objdir):
    frames = {}     # title -> bytes
    qualifier = {}  # title -> static / dynamic / dynamic,bounded
    edges = collections.defaultdict(set)
    for root, _, files in os.walk(objdir):
        for f in files:
            if not f.endswith(".ci"):
                continue
            for line in open(os.path.join(root, f), encoding="utf-8"):
                m = NODE.match(line)
                if m:
                    size = re.search(r"\\n(\d+) bytes \(([a-z,]+)\)",
                                     m.group(2))
                    if size:
                        frames[m.group(1)] = int(size.group(1))
                        qualifier[m.group(1)] = size.group(2)
                    continue
                m = EDGE.match(line)
                if m:
                    edges[m.group(1)].add(m.group(2))
    return frames, qualifier, edges


def worst_stack(root, frames, edges, resolve, problems):
    """Deepest path from root: (bytes, [functions])."""
    memo = {}
    on_path = []

    def visit(fn):
        if fn in on_path:
            cycle = on_path[on_path.index(fn):] + [fn]
            problems.append("recursion: " + " -> ".join(
                short(f) for f in cycle))
            return 0, [fn]
        if fn in memo:
            return memo[fn]
        on_path.append(fn)
        best = (0, [])
        for callee in sorted(edges.get(fn, ())):
            for target in resolve(fn, callee):
                depth = visit(target)
                if depth[0] > best[0]:
                    best = depth
        on_path.pop()
        if fn in frames:
            own = frames[fn]
        elif LIBGCC.match(short(fn)):
            own = LIBGCC_FRAME
        else:
            problems.append("no stack size for " + fn)
            own = 0
        memo[fn] = (own + best[0], [fn] + best[1])
        return memo[fn]

    return visit(root)


def short(title):
    return title.rsplit(":", 1)[-1]


def section_sizes(size_tool, elf):
    out = subprocess.run([size_tool, "-A", elf], check=True,
                         capture_output=True, text=True).stdout
    sizes = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0].startswith("."):
            sizes[parts[0]] = int(parts[1])
    return sizes


def component(obj):
    for key, name in (("/firmware/src/", "applet (src/)"),
                      ("/firmware/proto/", "protocol and KDF (proto/)"),
                      ("/firmware/port/compact/", "AES and SM4 (port/compact/)"),
                      ("libgcc", "libgcc (division)")):
        if key in obj:
            return name
    return "Cortex-M port (port/cortexm/)"


def map_by_component(map_file):
    """Flash and RAM bytes per component, from the linker map."""
    flash = collections.Counter()
    ram = collections.Counter()
    lines = open(map_file, encoding="utf-8").read().split("\n")
    start = next((i for i, l in enumerate(lines)
                  if l.startswith("Linker script and memory map")), 0)
    pending = None
    for line in lines[start:]:
        m = re.match(r"^ (\.(?:text|rodata|data|bss|vectors)[\w.$]*)\s*$",
                     line)
        if m:
            pending = m.group(1)
            continue
        m = re.match(r"^ (\.(?:text|rodata|data|bss|vectors)[\w.$]*)?\s+"
                     r"0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+(\S+\.(?:obj|o|a\S*))",
                     line)
        name = None
        if m:
            name = m.group(1) or pending
        pending = None
        if not m or not name:
            continue
        size = int(m.group(3), 16)
        obj = m.group(4)
        if name.startswith((".text", ".rodata", ".vectors")):
            flash[component(obj)] += size
        elif name.startswith(".data"):
            flash[component(obj)] += size
            ram[component(obj)] += size
        elif name.startswith(".bss"):
            ram[component(obj)] += size
    return flash, ram


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--elf", required=True)
    ap.add_argument("--nm", required=True)
    ap.add_argument("--size", required=True)
    ap.add_argument("--objects", required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()

    problems = []
    frames, qualifier, edges = parse_callgraph(a.objects)
    for fn, q in qualifier.items():
        if q != "static":
            problems.append("stack frame of %s is %s" % (short(fn), q))
    defined = {}
    for title in frames:
        defined.setdefault(short(title), []).append(title)

    def resolve(caller, callee):
        if callee == "__indirect_call":
            problems.append("function pointer called in " + short(caller))
            return []
        if callee in frames:
            return [callee]
        # A call through a declaration: the one global definition.
        globals_ = [t for t in defined.get(callee, []) if ":" not in t]
        return globals_ or [callee]

    depth, path = worst_stack("reset_handler", frames, edges, resolve,
                              problems)
    fault_title = next((t for t in frames if short(t) == "fault_handler"),
                       "fault_handler")
    fault, _ = worst_stack(fault_title, frames, edges, resolve, problems)

    nm = subprocess.run([a.nm, a.elf], check=True, capture_output=True,
                        text=True).stdout
    symbols = [l.split()[-1] for l in nm.splitlines() if l.strip()]
    for s in symbols:
        if FLOAT.match(s):
            problems.append("floating point routine linked: " + s)
    libc = sorted(s for s in symbols if s in
                  ("memcpy", "memset", "memmove", "memcmp", "strlen",
                   "malloc", "free", "printf"))

    sizes = section_sizes(a.size, a.elf)
    text = sizes.get(".text", 0)
    data = sizes.get(".data", 0)
    bss = sizes.get(".bss", 0)
    stack = sizes.get(".stack", 0)
    flash_by, ram_by = map_by_component(a.elf[:-len(".elf")] + ".map")
    if depth + EXCEPTION_FRAME + fault > stack:
        problems.append("worst-case stack %d (+%d for a fault) exceeds the "
                        "%d reserved" % (depth, EXCEPTION_FRAME + fault,
                                         stack))

    out = []
    out.append("Cortex-M image %s" % os.path.basename(a.elf))
    out.append("flash  %6d bytes (text+rodata %d, .data initial values %d)"
               % (text + data, text, data))
    out.append("RAM    %6d bytes (.data %d, .bss %d, stack worst case %d)"
               % (data + bss + depth, data, bss, depth))
    out.append("stack  %6d bytes reserved; worst case %d from reset, "
               "%d more if a fault is taken at that depth"
               % (stack, depth, EXCEPTION_FRAME + fault))
    out.append("flash by component:")
    for name, n in flash_by.most_common():
        out.append("  %6d  %s" % (n, name))
    out.append("RAM (.data+.bss) by component:")
    for name, n in ram_by.most_common():
        out.append("  %6d  %s" % (n, name))
    out.append("worst-case stack path (bytes per frame):")
    for fn in path:
        own = frames.get(fn, LIBGCC_FRAME)
        out.append("  %4d  %s" % (own, short(fn)))
    out.append("C library functions linked (libc_min.c): " + " ".join(libc))
    out.append("indirect calls: none")
    report = "\n".join(out) + "\n"
    sys.stdout.write(report)
    with open(a.out, "w", encoding="utf-8") as f:
        f.write(report)
    for p in sorted(set(problems)):
        print("footprint.py: error: " + p, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
