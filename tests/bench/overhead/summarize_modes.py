#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Markdown tables from the files of `scripts/compare.sh modes`: per workload
and recording mode, the pool->lock hold percentiles of all the mode's rounds
pooled (bucket counts summed, read as lockscope reads a histogram), the time
lockscope took out of each hold, and how far the modes spread -- next to how
far one mode spreads with itself (its odd rounds pooled against its even
ones), the noise any difference between the modes has to stand out of.
Usage: summarize_modes.py RESULT_DIR"""
import json
import math
import os
import re
import sys

MODES = (("nosites", "`--no-sites`"), ("default", "default"), ("stacks", "`--stacks`"))
QUANTILES = (0.50, 0.95, 0.99)
TARGET = 1.10  # the modes agree within 10%
SUB = 32


def lower_bound(i):
    return i if i < 2 * SUB else ((i % SUB) + SUB) << (i // SUB - 1)


def width(i):
    return 1 if i < 2 * SUB else 1 << (i // SUB - 1)


class Pool:
    """Histograms summed bucket by bucket (lockscope's log-linear buckets)."""

    def __init__(self):
        self.buckets, self.count, self.min, self.max = {}, 0, None, 0
        self.removed, self.runs = 0.0, 0.0

    def add(self, metric):
        h = metric["histogram"]
        for i, n in h.get("buckets", []):
            self.buckets[i] = self.buckets.get(i, 0) + n
        self.count += h["count"]
        if h["count"]:
            self.min = h["min"] if self.min is None else min(self.min, h["min"])
            self.max = max(self.max, h["max"])
        pe = metric.get("probe_effect", {})
        self.removed += pe.get("removed_ns", 0)
        self.runs += pe.get("program_runs", 0)

    def quantile(self, q):
        """Nearest rank, the bucket's midpoint clamped to [min, max]: as
        Histogram::quantile (src/core/histogram.cpp)."""
        if not self.count:
            return None
        rank = max(1, math.ceil(q * self.count))
        if rank >= self.count:
            return float(self.max)
        seen = 0
        for i in sorted(self.buckets):
            seen += self.buckets[i]
            if seen >= rank:
                lo = max(lower_bound(i), self.min)
                hi = min(lower_bound(i) + width(i) - 1, self.max)
                return (lo + max(hi, lo)) / 2.0
        return float(self.max)


def hold(path):
    with open(path, encoding="utf-8") as f:
        m = json.load(f)["runs"][0]["metrics"]["pool_lock_hold_ns"]
    return m if m.get("status") == "ok" else None


def spread(values):
    values = [v for v in values if v]
    return max(values) / min(values) if len(values) > 1 else None


def us(v):
    return "–" if v is None else f"{v / 1000:.2f}"


def main(d):
    names = os.listdir(d)
    for w in ("pty", "twq"):
        rounds = sorted({int(m.group(1)) for f in names
                         for m in [re.match(rf"result-default-{w}(\d+)\.json$", f)] if m})
        if not rounds:
            continue
        print(f"\n{w}: pool->lock hold (µs), {len(rounds)} interleaved rounds per mode, pooled\n")
        print("| mode | holds | p50 | p95 | p99 | removed per hold | lockscope runs per hold |"
              " each round p50 / p95 / p99 |")
        print("|---|---:|---:|---:|---:|---:|---:|---|")
        pooled, halves, missing = {}, {}, []
        for mode, label in MODES:
            all_, odd, even, cells = Pool(), Pool(), Pool(), []
            for r in rounds:
                path = os.path.join(d, f"result-{mode}-{w}{r}.json")
                m = hold(path) if os.path.exists(path) else None
                if m is None:
                    missing.append(f"{mode} round {r}")
                    continue
                all_.add(m)
                (odd if r % 2 else even).add(m)
                one = Pool()
                one.add(m)
                cells.append(" / ".join(us(one.quantile(q)) for q in QUANTILES))
            pooled[mode], halves[mode] = all_, (odd, even)
            if not all_.count:
                print(f"| {label} | no holds |" + " |" * 6)
                continue
            print(f"| {label} | {all_.count:,} | " +
                  " | ".join(us(all_.quantile(q)) for q in QUANTILES) +
                  f" | {all_.removed / all_.count:.0f} ns | {all_.runs / all_.count:.2f} | " +
                  "; ".join(cells) + " |")
        across = [spread([pooled[m].quantile(q) for m, _ in MODES]) for q in QUANTILES]
        within = []
        for q in QUANTILES:
            s = [spread([h.quantile(q) for h in halves[m]]) for m, _ in MODES]
            s = [x for x in s if x]
            within.append(max(s) if s else None)
        fmt = lambda xs: " | ".join("–" if x is None else f"{x:.2f}" for x in xs)
        print(f"| across the modes: largest ÷ smallest | | {fmt(across)} | | | |")
        print(f"| one mode with itself: odd ÷ even rounds, the largest of the modes | | {fmt(within)} | | | |")
        verdict = []
        for q, a, s in zip(QUANTILES, across, within):
            name = f"p{round(q * 100)}"
            if a is None:
                verdict.append(f"{name} not measured")
            elif a <= TARGET:
                verdict.append(f"{name} agrees ({a:.2f})")
            else:
                noise = f"; one mode with itself {s:.2f}" if s else ""
                verdict.append(f"{name} does not ({a:.2f}{noise})")
        print(f"\nWithin {round((TARGET - 1) * 100)}% across the modes: " + ", ".join(verdict) + ".")
        if missing:
            print("Missing (no profile or no holds): " + ", ".join(missing) + ".")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
