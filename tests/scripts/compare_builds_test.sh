#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# scripts/compare-builds.sh refuses bad arguments with exit 2, and its table
# maker (tests/bench/overhead/summarize_builds.py) reads the guest's files:
# medians over the rounds, each program ÷ the empty one of the same round.
#   compare_builds_test.sh SOURCE_DIR
set -eu
src=$1
fail() { echo "compare_builds_test: $*" >&2; exit 1; }
command -v python3 > /dev/null || { echo "python3 not found: skipped"; exit 77; }

set +e
"$src/scripts/compare-builds.sh" only-one > /dev/null 2>&1; rc=$?
[ $rc -eq 2 ] || fail "one argument: exit $rc, expected 2"
"$src/scripts/compare-builds.sh" /nonexistent/a /nonexistent/b > /dev/null 2>&1; rc=$?
[ $rc -eq 2 ] || fail "missing binaries: exit $rc, expected 2"
"$src/scripts/compare-builds.sh" --frobnicate a b > /dev/null 2>&1; rc=$?
[ $rc -eq 2 ] || fail "unknown option: exit $rc, expected 2"
set -e

d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT
# One pty table per condition and round: items/s on the system row, and the
# --stats table (program, runs, runs/s, ns/run, recursion misses).
table() { # FILE ITEMS_PER_S WAKING_NS
  cat > "$1" <<TXT
affinity_scope       items/s    p50 (ns)    p90 (ns)    p95 (ns)    p99 (ns)  runs
--------------  ------------  ----------  ----------  ----------  ----------  ----
system                $2      11,392     145,408     190,464   1,753,088     1
program                                              runs     runs/s     ns/run  recursion
tp_btf/sched_waking                                 17254       9468     $3          0
TXT
}
profile() { # FILE P50
  printf '{"runs":[{"metrics":{"pool_lock_hold_ns":{"status":"ok","histogram":{"p50":%s,"p95":9000,"p99":20000},"probe_effect":{"mean_removed_ns":700}}}}]}\n' "$2" > "$1"
}
table "$d/result-floor-pty1.txt" 10,000 400.0
table "$d/result-floor-pty2.txt" 12,000 500.0
table "$d/result-floor-pty3.txt" 11,000 300.0
table "$d/result-baseline-pty1.txt" 5,000 2000.0
table "$d/result-baseline-pty2.txt" 6,000 2500.0
table "$d/result-baseline-pty3.txt" 7,000 1200.0
table "$d/result-candidate-pty1.txt" 9,000 800.0
table "$d/result-candidate-pty2.txt" 9,900 1000.0
table "$d/result-candidate-pty3.txt" 8,800 600.0
for c in baseline candidate; do for r in 1 2 3; do profile "$d/result-$c-pty$r.json" $((r * 1000)); done; done
out=$(python3 "$src/tests/bench/overhead/summarize_builds.py" "$d")
echo "$out"
# Medians: floor 11.0 k; baseline 6.0 k (0.55 of the floor), sched_waking
# 2000 ns and ÷ empty median(5.0, 5.0, 4.0) = 5.00; candidate 9.0 k (0.82),
# 800 ns, median(2.0, 2.0, 2.0) = 2.00; hold p50 median 2000 ns.
echo "$out" | grep -q '^| floor | 11.0 k (10.0 / 12.0 / 11.0) | 1.00 | 400 |' || fail "floor row"
echo "$out" | grep -q '^| baseline | 6.0 k (5.0 / 6.0 / 7.0) | 0.55 | 2000 (5.00) |.*| 2.00 µs / 9.00 µs / 20.00 µs | 700 ns |$' || fail "baseline row"
echo "$out" | grep -q '^| candidate | 9.0 k (9.0 / 9.9 / 8.8) | 0.82 | 800 (2.00) |' || fail "candidate row"
# No test_workqueue files: its table says so instead of inventing figures.
echo "$out" | grep -q '^| candidate | no results |' || fail "twq without files"
echo "compare_builds_test: ok"
