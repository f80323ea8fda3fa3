#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# scripts/compare.sh refuses bad arguments with exit 2, and its table makers
# read the guest's files: summarize_builds.py (medians over the rounds, each
# program ÷ the empty one of the same round) and summarize_modes.py (each
# mode's rounds pooled, the spread across the modes and of a mode with itself).
#   compare_test.sh SOURCE_DIR
set -eu
src=$1
fail() { echo "compare_test: $*" >&2; exit 1; }
command -v python3 > /dev/null || { echo "python3 not found: skipped"; exit 77; }

set +e
expect2() { # WHAT ARGS...
  what=$1; shift
  "$src/scripts/compare.sh" "$@" > /dev/null 2>&1; rc=$?
  [ $rc -eq 2 ] || fail "$what: exit $rc, expected 2"
}
expect2 "no subcommand"
expect2 "unknown subcommand" frobnicate a b
expect2 "builds with one argument" builds only-one
expect2 "builds with missing binaries" builds /nonexistent/a /nonexistent/b
expect2 "unknown option" builds --frobnicate a b
expect2 "option without its value" modes --rounds
expect2 "rounds not a number" modes --rounds many
expect2 "zero rounds" modes --rounds 0
expect2 "unknown workload" modes --workloads fio
expect2 "modes with two kernels" modes --binary /bin/sh 7.2 7.3
expect2 "modes with a missing binary" modes --binary /nonexistent/lockscope
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
# has PATTERN WHAT: a line of the last table output matches PATTERN.
has() { echo "$out" | grep -q "$1" || fail "$2"; }
out=$(python3 "$src/tests/bench/overhead/summarize_builds.py" "$d")
echo "$out"
# Medians: floor 11.0 k; baseline 6.0 k (0.55 of the floor), sched_waking
# 2000 ns and ÷ empty median(5.0, 5.0, 4.0) = 5.00; candidate 9.0 k (0.82),
# 800 ns, median(2.0, 2.0, 2.0) = 2.00; hold p50 median 2000 ns.
has '^| floor | 11.0 k (10.0 / 12.0 / 11.0) | 1.00 | 400 |' "floor row"
has '^| baseline | 6.0 k (5.0 / 6.0 / 7.0) | 0.55 | 2000 (5.00) |.*| 2.00 µs / 9.00 µs / 20.00 µs | 700 ns |$' "baseline row"
has '^| candidate | 9.0 k (9.0 / 9.9 / 8.8) | 0.82 | 800 (2.00) |' "candidate row"
# No test_workqueue files (--workloads pty): no table for it, rather than
# one of empty rows.
echo "$out" | grep -q '^twq ' && fail "a twq table without twq files"
echo "$out" | grep -q 'no results' && fail "rows of no results for a workload not run"

# summarize_modes.py: three modes, two rounds each. A profile holds the hold
# histogram's buckets ([index, count]); index 10 is the value 10 ns exactly.
modes=$(mktemp -d)
trap 'rm -rf "$d" "$modes"' EXIT
hold() { # FILE COUNT_AT_10 COUNT_AT_20 REMOVED_NS RUNS
  n=$(($2 + $3))
  printf '{"runs":[{"metrics":{"pool_lock_hold_ns":{"status":"ok","histogram":{"count":%s,"min":10,"max":20,"buckets":[[10,%s],[20,%s]]},"probe_effect":{"removed_ns":%s,"program_runs":%s}}}}]}\n' \
    "$n" "$2" "$3" "$4" "$5" > "$1"
}
# --no-sites: 60 of 100 holds at 10 ns in each round (p50 10, p95 20).
hold "$modes/result-nosites-pty1.json" 60 40 1000 300
hold "$modes/result-nosites-pty2.json" 60 40 1000 300
# default: round 1 has 40 at 10 ns, round 2 has 80: pooled 120 of 200 at
# 10 ns (p50 10), but its odd and even rounds alone have p50 20 and 10.
hold "$modes/result-default-pty1.json" 40 60 2000 300
hold "$modes/result-default-pty2.json" 80 20 2000 300
# --stacks: all at 20 ns but one (p50 20), and 5000 ns removed per hold.
hold "$modes/result-stacks-pty1.json" 1 99 500000 900
hold "$modes/result-stacks-pty2.json" 1 99 500000 900
out=$(python3 "$src/tests/bench/overhead/summarize_modes.py" "$modes")
echo "$out"
has '^| `--no-sites` | 200 | 0.01 | 0.02 | 0.02 | 10 ns | 3.00 | 0.01 / 0.02 / 0.02; 0.01 / 0.02 / 0.02 |$' "--no-sites row"
has '^| default | 200 | 0.01 | 0.02 | 0.02 | 20 ns | 3.00 |' "default row"
has '^| `--stacks` | 200 | 0.02 | 0.02 | 0.02 | 5000 ns | 9.00 |' "--stacks row"
has '^| across the modes: largest ÷ smallest | | 2.00 | 1.00 | 1.00 |' "spread across the modes"
has '^| one mode with itself: odd ÷ even rounds, the largest of the modes | | 2.00 | 1.00 | 1.00 |' "spread within a mode"
has '^Within 10% across the modes: p50 does not (2.00; one mode with itself 2.00), p95 agrees (1.00), p99 agrees (1.00)\.$' "verdict"
# A mode without a profile in one round is named, not silently pooled.
rm "$modes/result-stacks-pty2.json"
out=$(python3 "$src/tests/bench/overhead/summarize_modes.py" "$modes")
has '^Missing (no profile or no holds): stacks round 2\.$' "missing round"
echo "compare_test: ok"
