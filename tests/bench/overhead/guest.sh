#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Overhead benchmark, guest side (run by scripts/overhead.sh inside a QEMU
# guest with lockscope, bpftrace, bpftool and test_workqueue.ko).
#
#   sh guest.sh ROUNDS ITEMS THREADS
#
# Part 1, throughput: ROUNDS rounds of the conditions none, lockscope,
# bpftrace (interleaved, so drift shows), each one test_workqueue run of all
# six scopes. Rows go to $RESULTS/rows.txt as "round condition scope items/s p95_ns".
# Part 2, per-program cost: kernel BPF stats on; one run each under lockscope,
# lockscope --no-sites, bpftrace and the floor (empty fentry programs on the
# lock and unlock functions); `bpftool prog show` is snapshotted while the
# programs are still attached, into $RESULTS/progs-<condition>.txt.
set -u
rounds=${1:-3}
items=${2:-2000}
threads=${3:-4}
ko=/lib/modules/test_workqueue.ko
res=${RESULTS:-/results}
mkdir -p "$res"

uname -r > "$res/kernel.txt"
grep -c ^processor /proc/cpuinfo > "$res/cpus.txt"

# The peer script names the pool-kicking function of this kernel.
if grep -q ' kick_pool$' /proc/kallsyms; then kick=kick_pool; else kick=kick_pool_pick; fi
sed "s/^kfunc:kick_pool\$/kfunc:$kick/" /bench/overhead.bt > /tmp/ovh.bt
echo "$kick" > "$res/kick.txt"

# The workload; with SNAP set, also snapshot the loaded programs' stats.
cat > /tmp/twq.sh <<TWQ
insmod $ko wq_items=$items nr_threads=$threads 2>/dev/null || true
[ -z "\${SNAP:-}" ] || bpftool prog show > "\$SNAP" 2>&1 || true
TWQ

rows() { # round condition
  dmesg | grep 'test_workqueue:' | grep 'items/sec' | \
    sed 's/.*test_workqueue: *//; s/p[0-9]*=//g' | \
    awk -v r="$1" -v c="$2" '{ print r, c, $1, $2, $6 }' >> "$res/rows.txt"
}

run() { # round condition
  dmesg -c > /dev/null
  t0=$(date +%s)
  case $2 in
    none) sh /tmp/twq.sh ;;
    lockscope) lockscope record -o "$res/ls-$1.json" -- sh /tmp/twq.sh > "$res/ls-$1.out" 2>&1 || true ;;
    lockscope-nosites) lockscope record --no-sites -o "$res/lsns-$1.json" -- sh /tmp/twq.sh > "$res/lsns-$1.out" 2>&1 || true ;;
    lockscope-stats) lockscope record --stats -o "$res/lss-$1.json" -- sh /tmp/twq.sh > "$res/lss-$1.out" 2>&1 || true ;;
    lockscope-nosites-stats) lockscope record --stats --no-sites -o "$res/lssn-$1.json" -- sh /tmp/twq.sh > "$res/lssn-$1.out" 2>&1 || true ;;
    bpftrace|bpftrace-stats) bpftrace -c "/bin/sh /tmp/twq.sh" /tmp/ovh.bt > "$res/bt-$1-$2.out" 2>&1 || true ;;
    floor-stats) bpftrace -c "/bin/sh /tmp/twq.sh" -e 'kfunc:_raw_spin_lock { } kfunc:_raw_spin_unlock { }' \
                   > "$res/floor-$1.out" 2>&1 || true ;;
  esac
  echo "round $1 $2: $(( $(date +%s) - t0 )) s" >> "$res/timing.txt"
  rows "$1" "$2"
}

r=1
while [ "$r" -le "$rounds" ]; do
  for c in none lockscope bpftrace; do run "$r" "$c"; done
  r=$((r + 1))
done
run "$r" none

echo 1 > /proc/sys/kernel/bpf_stats_enabled
for c in floor-stats lockscope-stats lockscope-nosites-stats bpftrace-stats; do
  SNAP="$res/progs-$c.txt"
  export SNAP
  run s "$c"
done
unset SNAP
echo 0 > /proc/sys/kernel/bpf_stats_enabled
echo done
