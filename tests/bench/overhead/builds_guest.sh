#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Inside the guest of scripts/compare-builds.sh: ROUNDS interleaved rounds;
# each records the pty workload and then test_workqueue under the floor, the
# baseline lockscope (/bench/baseline) and the candidate (lockscope), with
# kernel BPF stats. Files: $RESULTS/{floor,baseline,candidate}-{pty,twq}N.{txt,json}.
#   builds_guest.sh ROUNDS ITEMS THREADS PTY_ITEMS PTY_THREADS
set -u
rounds=$1 items=$2 threads=$3 pitems=$4 pthreads=$5
mkdir -p /dev/pts
mount -t devpts devpts /dev/pts 2> /dev/null
pty="bench --workload pty --scope system --runs 1 --threads $pthreads --items $pitems"
twq="bench --workload test_workqueue=/lib/modules/test_workqueue.ko --runs 1 --threads $threads --items $items"
r=1
while [ "$r" -le "$rounds" ]; do
  for w in pty twq; do
    if [ $w = pty ]; then load=$pty; else load=$twq; fi
    echo "round $r, $w" >&2
    # shellcheck disable=SC2086
    lockscope record --floor --stats -- lockscope $load > "$RESULTS/floor-$w$r.txt" 2>&1
    # shellcheck disable=SC2086
    /bench/baseline record --stats -o "$RESULTS/baseline-$w$r.json" -- /bench/baseline $load \
      > "$RESULTS/baseline-$w$r.txt" 2>&1
    # shellcheck disable=SC2086
    lockscope record --stats -o "$RESULTS/candidate-$w$r.json" -- lockscope $load \
      > "$RESULTS/candidate-$w$r.txt" 2>&1
  done
  r=$((r + 1))
done
