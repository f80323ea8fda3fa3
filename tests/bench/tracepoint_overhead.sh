#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# What the tracepoint backend costs the pty round trip (issue: tracepoint-only
# hosts). Alternates plain `lockscope bench` and the same bench under
# `lockscope record --backend tracepoint`, ROUNDS times, and prints the
# medians of items/s and p95 for each condition and their ratio.
#   sudo tests/bench/tracepoint_overhead.sh [LOCKSCOPE] [ROUNDS] [ITEMS]
set -euo pipefail
ls=${1:-build/src/lockscope}
rounds=${2:-5}
items=${3:-20000}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
bench=("$ls" bench --workload pty --scope cache --runs 1 --threads 2 --items "$items")
for i in $(seq 1 "$rounds"); do
  "${bench[@]}" -o "$tmp/none-$i.json" >/dev/null
  "$ls" record --backend tracepoint -o "$tmp/rec-$i.json" -- "${bench[@]}" -o "$tmp/traced-$i.json" >/dev/null 2>&1
done
python3 - "$tmp" "$rounds" <<'PY'
import json, statistics, sys
tmp, rounds = sys.argv[1], int(sys.argv[2])
def load(kind):
    tput, p95 = [], []
    for i in range(1, rounds + 1):
        w = json.load(open(f"{tmp}/{kind}-{i}.json"))["runs"][0]["workload"]
        tput.append(w["items_per_sec"]); p95.append(w["latency_ns"]["p95"])
    return statistics.median(tput), statistics.median(p95), tput
n, t = load("none"), load("traced")
print(f"condition            items/s (median)   p95 ns (median)   items/s per round")
print(f"no profiler          {n[0]:>16,.0f}   {n[1]:>15,.0f}   {[round(x) for x in n[2]]}")
print(f"tracepoint backend   {t[0]:>16,.0f}   {t[1]:>15,.0f}   {[round(x) for x in t[2]]}")
print(f"throughput ratio traced/none: {t[0] / n[0]:.3f}")
PY
