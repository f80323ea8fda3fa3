#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Markdown tables from the files of `scripts/compare.sh builds`
(tests/bench/overhead/rounds_guest.sh): per workload and condition, medians over the rounds of the throughput, of
each program's ns/run (and ÷ the empty program on the same section, same
round), and of the pool->lock hold percentiles and the time lockscope took
out of each hold.  Usage: summarize_builds.py RESULT_DIR"""
import json
import os
import re
import statistics
import sys

CONDITIONS = ("floor", "baseline", "candidate")
SCOPES = {"pty": ["system"], "twq": ["cache_shard", "cache", "numa", "system"]}
PROGRAMS = ("tp_btf/sched_waking", "fexit/_raw_spin_lock_irq", "fexit/_raw_spin_lock_irqsave",
            "fentry/_raw_spin_unlock_irq", "fentry/kick_pool", "tp_btf/workqueue_queue_work")


def parse(path):
    progs, rows = {}, {}
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            m = re.match(r"^(\S+/\S+)\s+(\d+)\s+(\d+)\s+([\d.]+)\s+(\d+)\s*$", line)
            if m:
                progs[m.group(1)] = float(m.group(4))
            m = re.match(r"^(cpu|smt|cache_shard|cache|numa|system)\s+([\d,]+)\s", line)
            if m:
                rows.setdefault(m.group(1), int(m.group(2).replace(",", "")))
    return progs, rows


def main(d):
    names = os.listdir(d)
    med = statistics.median
    shown = False
    for w, scopes in SCOPES.items():
        # Each workload's own rounds, as summarize_modes.py reads them: none
        # for a workload not asked for (--workloads).
        rounds = sorted({int(m.group(1)) for f in names
                         for m in [re.match(rf"result-floor-{w}(\d+)\.txt$", f)] if m})
        if not rounds:
            continue
        shown = True
        print(f"\n{w} ({', '.join(scopes)}), medians of {len(rounds)} rounds\n")
        print("| condition | items/s (each round) | ÷ floor | " +
              " | ".join(f"`{p}` ns (÷ empty)" for p in PROGRAMS) +
              " | hold p50 / p95 / p99 | removed per hold |")
        print("|---" * (5 + len(PROGRAMS)) + "|")
        floor_ips = None
        for c in CONDITIONS:
            ips, ns, ratio, holds, removed = [], {p: [] for p in PROGRAMS}, \
                {p: [] for p in PROGRAMS}, [], []
            for r in rounds:
                path = os.path.join(d, f"result-{c}-{w}{r}.txt")
                if not os.path.exists(path):
                    continue
                progs, rows = parse(path)
                empty, _ = parse(os.path.join(d, f"result-floor-{w}{r}.txt"))
                if all(s in rows for s in scopes):
                    ips.append(statistics.mean(rows[s] for s in scopes))
                for p in PROGRAMS:
                    if p in progs:
                        ns[p].append(progs[p])
                        if empty.get(p):
                            ratio[p].append(progs[p] / empty[p])
                j = os.path.join(d, f"result-{c}-{w}{r}.json")
                if os.path.exists(j):
                    with open(j, encoding="utf-8") as f:
                        h = json.load(f)["runs"][0]["metrics"]["pool_lock_hold_ns"]
                    if h.get("status") == "ok":
                        g = h["histogram"]
                        holds.append((g["p50"], g["p95"], g["p99"]))
                        removed.append(h.get("probe_effect", {}).get("mean_removed_ns", 0))
            if not ips:
                print(f"| {c} | no results |" + " |" * (3 + len(PROGRAMS)))
                continue
            m_ips = med(ips)
            if c == "floor":
                floor_ips = m_ips
            cells = [c, f"{m_ips / 1000:.1f} k ({' / '.join(f'{x / 1000:.1f}' for x in ips)})",
                     "1.00" if c == "floor" else f"{m_ips / floor_ips:.2f}" if floor_ips else "–"]
            for p in PROGRAMS:
                if not ns[p]:
                    cells.append("–")
                elif c == "floor":
                    cells.append(f"{med(ns[p]):.0f}")
                else:
                    cells.append(f"{med(ns[p]):.0f} ({med(ratio[p]):.2f})")
            if holds:
                cells.append(" / ".join(f"{med(x[i] for x in holds) / 1000:.2f} µs" for i in range(3)))
                cells.append(f"{med(removed):.0f} ns")
            else:
                cells += ["", ""]
            print("| " + " | ".join(cells) + " |")
    if not shown:
        sys.exit(f"summarize_builds.py: no results in {d}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
