#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Overhead benchmark: turn the guests' result files into the tables of
docs/overhead.md.

    summarize.py BOOT_DIR [BOOT_DIR ...]

Each BOOT_DIR is one guest boot of tests/bench/overhead/guest.sh (files named
result-<name>). Prints Markdown: throughput per scope and condition (medians
over the rounds, n given), loss against no profiler, and the per-program cost
from kernel BPF stats against the empty-program floor.
"""
import os
import re
import statistics
import sys

CONTENDED = ("cache_shard", "cache", "numa", "system")
SCOPES = ("cpu", "smt", "cache_shard", "cache", "numa", "system")
CONDS = ("none", "lockscope", "bpftrace")


def read(d, name):
    p = os.path.join(d, "result-" + name)
    if not os.path.exists(p):
        return ""
    with open(p, encoding="utf-8", errors="replace") as f:
        return f.read()


def rows(d):
    out = {}  # (cond, scope) -> [(items/s, p95)]
    for line in read(d, "rows.txt").splitlines():
        f = line.split()
        if len(f) != 5 or f[0] == "s":
            continue
        out.setdefault((f[1], f[2]), []).append((float(f[3]), float(f[4])))
    return out


PROG = re.compile(r"^(\d+):\s+(\S+)\s+(?:name (\S+)\s+)?.*?run_time_ns (\d+) run_cnt (\d+)(?: recursion_misses (\d+))?")


def progs(d, cond):
    out = []
    for line in read(d, "progs-%s.txt" % cond).splitlines():
        m = PROG.match(line)
        if m and int(m.group(5)) > 0:
            t, n = int(m.group(4)), int(m.group(5))
            out.append((m.group(3) or "id" + m.group(1), n, t / n, int(m.group(6) or 0)))
    return out


def med(v):
    return statistics.median(v) if v else float("nan")


def pct(a, b):
    return 100.0 * (b - a) / b if b else float("nan")


def one(d):
    kernel = read(d, "kernel.txt").strip() or "?"
    cpus = read(d, "cpus.txt").strip() or "?"
    kick = read(d, "kick.txt").strip()
    r = rows(d)
    print("### %s (%s vCPUs, pool kicked via %s)\n" % (kernel, cpus, kick or "?"))
    n = {c: min((len(r.get((c, s), [])) for s in SCOPES), default=0) for c in CONDS}
    print("Medians over n runs per condition: none n=%d, lockscope n=%d, bpftrace n=%d.\n"
          % (n["none"], n["lockscope"], n["bpftrace"]))
    print("| scope | none items/s | lockscope items/s (loss) | bpftrace items/s (loss) "
          "| loss ratio ls/bt | p95 ns none / ls / bt | target |")
    print("|---|---:|---:|---:|---:|---:|---|")
    for s in SCOPES:
        base = med([x[0] for x in r.get(("none", s), [])])
        ls = med([x[0] for x in r.get(("lockscope", s), [])])
        bt = med([x[0] for x in r.get(("bpftrace", s), [])])
        p95 = [med([x[1] for x in r.get((c, s), [])]) for c in CONDS]
        lls, lbt = pct(ls, base), pct(bt, base)
        ratio = lls / lbt if lbt > 0 else float("nan")
        if s in CONTENDED:
            target = "met" if lls <= 0.5 * max(lbt, 0.0) or lls <= 0 else "missed"
        else:
            target = "(uncontended)"
        print("| %s | %.0f | %.0f (%.1f%%) | %.0f (%.1f%%) | %.2f | %.0f / %.0f / %.0f | %s |"
              % (s, base, ls, lls, bt, lbt, ratio, p95[0], p95[1], p95[2], target))
    print()
    floor = {name: ns for name, _, ns, _ in progs(d, "floor-stats")}
    f_lock = next((v for k, v in floor.items() if "unloc" not in k), float("nan"))
    f_unlock = next((v for k, v in floor.items() if "unloc" in k), float("nan"))
    print("Per-program cost (kernel BPF stats, one run each, stats on). Floor: empty fentry "
          "programs on _raw_spin_lock %.1f ns/run, _raw_spin_unlock %.1f ns/run.\n" % (f_lock, f_unlock))
    print("| condition | program | runs | ns/run | × floor | recursion misses |")
    print("|---|---|---:|---:|---:|---:|")
    for cond in ("floor-stats", "lockscope-stats", "lockscope-nosites-stats", "bpftrace-stats"):
        for name, cnt, ns, miss in progs(d, cond):
            fl = f_unlock if "unloc" in name else f_lock
            spin = "spin" in name or name.startswith("ls_lock") or name.startswith("ls_unlock")
            x = "%.2f" % (ns / fl) if spin and fl == fl and fl > 0 else ""
            print("| %s | %s | %d | %.1f | %s | %d |" % (cond.replace("-stats", ""), name, cnt, ns, x, miss))
    print()
    bt = read(d, "bt-1-bpftrace.out")
    for key in ("@pool_acquired", "@wakeups_under_pool", "@wakeups"):
        m = re.search(re.escape(key) + r": (\d+)", bt)
        if m:
            print("bpftrace round 1 %s: %s  " % (key, m.group(1)))
    t = read(d, "timing.txt").strip()
    if t:
        print("\nWall time per condition (guest clock):\n\n```\n%s\n```\n" % t)


def main():
    if len(sys.argv) < 2:
        sys.stderr.write(__doc__)
        return 2
    for d in sys.argv[1:]:
        one(d)
    return 0


if __name__ == "__main__":
    sys.exit(main())
