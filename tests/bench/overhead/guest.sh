#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Overhead benchmark, guest side (run by scripts/overhead.sh inside a QEMU
# guest with lockscope, bpftrace, bpftool, klockstat, perf and test_workqueue.ko).
#
#   sh guest.sh ROUNDS TWQ_ITEMS TWQ_THREADS PTY_ITEMS PTY_THREADS [WORKLOADS [BUDGET_S]]
#
# WORKLOADS: "pty twq" (default), or one of them. BUDGET_S (default 0: none):
# no new round starts after that many seconds, so a slow boot still ends
# with the stats pass and its results. Progress goes to the console; each
# profiled run is stopped (SIGINT) after RUN_TIMEOUT seconds (default 400).
#
# Part 1, throughput: ROUNDS rounds; each round runs every workload under
# every condition, always in the same order, so drift over the boot shows in
# every condition alike:
#   none            the workload alone
#   floor           lockscope record --floor: empty programs on the hooks the
#                   default mode attaches
#   ls              lockscope record (default)
#   floor-nosites   lockscope record --floor --no-sites (only when its hook
#                   set differs from floor's)
#   ls-nosites      lockscope record --no-sites
#   floor-metrics   lockscope record --floor --metrics $METRICS (idem)
#   ls-metrics      lockscope record --metrics $METRICS
#   bpftrace        tests/bench/overhead.bt
#   klockstat       BCC's libbpf klockstat (mutexes and rwsems)
#   perf            perf lock record -a + perf lock contention
# The pty workload is `lockscope bench --workload pty --scope system --runs 1`;
# twq is `insmod test_workqueue.ko` (all six scopes; busybox insmod loads it
# twice, so two rows per scope and run). Rows go to $RESULTS/rows.txt as
# "round condition workload scope items/s p95_ns".
# Part 2, per-program cost: kernel BPF stats on; one run per workload under
# each condition with --stats (lockscope prints its per-program table), and
# for the peers `bpftool prog show` / `bpftool link show` taken from inside
# the command while the programs are attached (round "s" in rows.txt).
set -u
rounds=${1:-3}
items=${2:-1000}
threads=${3:-4}
pitems=${4:-20000}
pthreads=${5:-4}
workloads=${6:-pty twq}
budget=${7:-0}
to=${RUN_TIMEOUT:-400}
start=$(date +%s)
say() { echo "overhead: $* ($(( $(date +%s) - start )) s)" > /dev/console 2> /dev/null || true; }
metrics=wakeups_under_pool_lock,kick_pool_under_pool_lock
ko=/lib/modules/test_workqueue.ko
res=${RESULTS:-/results}
mkdir -p "$res"

# The pty workload needs /dev/pts.
mkdir -p /dev/pts
mount -t devpts devpts /dev/pts 2> /dev/null || true
uname -r > "$res/kernel.txt"
grep -c ^processor /proc/cpuinfo > "$res/cpus.txt"
cat /sys/devices/system/clocksource/clocksource0/current_clocksource > "$res/clocksource.txt" 2>&1
echo "twq $items x $threads, pty $pitems x $pthreads, $rounds rounds" > "$res/params.txt"
lockscope --version > "$res/version.txt" 2>&1

# The peer script names the pool-kicking function of this kernel.
if grep -q ' kick_pool$' /proc/kallsyms; then kick=kick_pool; else kick=kick_pool_pick; fi
sed "s/^kfunc:kick_pool\$/kfunc:$kick/" /bench/overhead.bt > /tmp/ovh.bt
echo "$kick" > "$res/kick.txt"
cp /tmp/ovh.bt "$res/ovh.bt"
# The floor of the bpftrace script: its hooks, empty bodies (stats pass only).
grep '^kfunc:' /tmp/ovh.bt | sed 's/$/ { }/' > /tmp/ovh-floor.bt

# What this lockscope can do; a condition it cannot run is noted, not zeroed.
help=$(lockscope record --help 2>&1)
has_floor=0 has_metrics=0
case $help in *--floor*) has_floor=1 ;; esac
case $help in *--metrics*) has_metrics=1 ;; esac
: > "$res/notes.txt"
note() { echo "$*" >> "$res/notes.txt"; }
[ $has_floor = 1 ] || note "floor: this lockscope has no record --floor"
[ $has_metrics = 1 ] || note "ls-metrics: this lockscope has no record --metrics"
command -v klockstat > /dev/null || note "klockstat: not in the guest"
if command -v perf > /dev/null; then
  # Debian's perf: is its BPF mode built in, and which lock tracepoints exist.
  note "perf -b: $(perf lock contention -b -a -- true 2>&1 | head -3 | tr '\n' ' ')"
  note "perf: lock tracepoints: $(ls /sys/kernel/tracing/events/lock 2>&1 | tr '\n' ' ')"
else
  note "perf: not in the guest"
fi

# With SNAP set, the workloads also snapshot the loaded programs, and the
# links of the tracer that started them (its fdinfo names each link's
# program and target BTF id: bpftool 7.1's link listing does not).
cat > /tmp/snap.sh <<'SNAP'
bpftool prog show > "$SNAP" 2>&1
bpftool link show > "$SNAP.links" 2>&1
for f in /proc/$1/fdinfo/*; do
  grep -q '^link_type' "$f" 2> /dev/null && { echo "fd $f"; cat "$f"; }
done > "$SNAP.fdinfo"
true
SNAP
# The workloads.
cat > /tmp/wl-twq.sh <<WL
insmod $ko wq_items=$items nr_threads=$threads 2>/dev/null || true
[ -z "\${SNAP:-}" ] || sh /tmp/snap.sh "\$PPID"
WL
cat > /tmp/wl-pty.sh <<WL
lockscope bench --workload pty --scope system --items $pitems --threads $pthreads --runs 1 \
  > "\${BENCH_OUT:-/dev/null}" 2>&1 || true
[ -z "\${SNAP:-}" ] || sh /tmp/snap.sh "\$PPID"
WL

# The hook set of a floor: its --stats table's attach sections.
hooks() { # options...
  timeout -s INT $to lockscope record --floor --stats "$@" -- true 2>&1 | awk 'NF == 5 && $2 ~ /^[0-9]+$/ { print $1 }' | sort
}
conds_for() { # workload
  c="none"
  [ $has_floor = 1 ] && c="$c floor"
  c="$c ls"
  [ $has_floor = 1 ] && [ "$floor_nosites" = floor-nosites ] && c="$c floor-nosites"
  c="$c ls-nosites"
  [ $has_floor = 1 ] && [ $has_metrics = 1 ] && [ "$floor_metrics" = floor-metrics ] && c="$c floor-metrics"
  [ $has_metrics = 1 ] && c="$c ls-metrics"
  c="$c bpftrace"
  command -v klockstat > /dev/null && c="$c klockstat"
  command -v perf > /dev/null && c="$c perf"
  echo "$c"
}
floor_nosites=floor floor_metrics=floor
if [ $has_floor = 1 ]; then
  hooks > /tmp/h-default
  hooks --no-sites > /tmp/h-nosites
  cmp -s /tmp/h-default /tmp/h-nosites || floor_nosites=floor-nosites
  if [ $has_metrics = 1 ]; then
    hooks --metrics "$metrics" > /tmp/h-metrics
    cmp -s /tmp/h-default /tmp/h-metrics || floor_metrics=floor-metrics
  fi
  for m in default nosites metrics; do
    [ -f /tmp/h-$m ] && sed "s/^/$m /" /tmp/h-$m >> "$res/hooks.txt"
  done
fi
# Which floor each lockscope mode is compared with.
{ echo "ls floor"; echo "ls-nosites $floor_nosites"; echo "ls-metrics $floor_metrics"; } > "$res/floors.txt"

rows() { # round condition workload
  if [ "$3" = twq ]; then
    dmesg | grep 'test_workqueue:' | grep 'items/sec' | \
      sed 's/.*test_workqueue: *//; s/p[0-9]*=//g' | \
      awk -v r="$1" -v c="$2" '{ print r, c, "twq", $1, $2, $6 }' >> "$res/rows.txt"
  else
    awk -v r="$1" -v c="$2" '$1 == "system" && $2 ~ /^[0-9,]+$/ {
      gsub(",", "", $2); gsub(",", "", $5); print r, c, "pty", $1, $2, $5 }' /tmp/bench.out >> "$res/rows.txt"
  fi
}

# klockstat prints "Tracing ..." once attached, but into a file only at its
# exit (stdout is buffered): wait instead until its tracing links are up and
# their number holds still for two polls.
links() { bpftool link show 2> /dev/null | grep -c tracing; }
klockstat_run() { # out workload-script
  n0=$(links)
  klockstat > "$1" 2>&1 &
  kpid=$!
  i=0 prev=-1 n=$n0
  while [ $i -lt 300 ] && kill -0 $kpid 2> /dev/null; do
    sleep 1
    n=$(links)
    [ "$n" -gt "$n0" ] && [ "$n" = "$prev" ] && break
    prev=$n
    i=$((i + 1))
  done
  echo "klockstat: $((n - n0)) tracing links after ${i} s" >> "$res/klockstat-attach.txt"
  sh "$2"
  kill -INT $kpid 2> /dev/null
  wait $kpid
}

perf_run() { # out workload-script
  timeout -s INT $to perf lock record -a -o /tmp/perf.data -- /bin/sh "$2" > "$1" 2>&1 || true
  echo "--- perf lock contention -i perf.data" >> "$1"
  perf lock contention -i /tmp/perf.data >> "$1" 2>&1 || true
  echo "--- perf script (events recorded)" >> "$1"
  perf script -i /tmp/perf.data 2> /dev/null | wc -l >> "$1"
  rm -f /tmp/perf.data
}

run() { # round condition workload [--stats]
  rr=$1 cc=$2 ww=$3 st=${4:-}
  wl=/tmp/wl-$ww.sh
  out=$res/$cc-$ww-$rr.out
  # The profiles of round 1 and of the stats pass are kept, the others dropped.
  case $rr in 1|s) prof=$res/$cc-$ww-$rr.json ;; *) prof=/tmp/p.json ;; esac
  BENCH_OUT=/tmp/bench.out
  export BENCH_OUT
  : > /tmp/bench.out
  dmesg -c > /dev/null
  say "round $rr $ww $cc"
  t0=$(date +%s)
  case $cc in
    none) sh "$wl" > "$out" 2>&1 ;;
    floor) timeout -s INT $to lockscope record --floor $st -- sh "$wl" > "$out" 2>&1 ;;
    floor-nosites) timeout -s INT $to lockscope record --floor --no-sites $st -- sh "$wl" > "$out" 2>&1 ;;
    floor-metrics) timeout -s INT $to lockscope record --floor --metrics "$metrics" $st -- sh "$wl" > "$out" 2>&1 ;;
    ls) timeout -s INT $to lockscope record $st -o "$prof" -- sh "$wl" > "$out" 2>&1 ;;
    ls-nosites) timeout -s INT $to lockscope record --no-sites $st -o "$prof" -- sh "$wl" > "$out" 2>&1 ;;
    ls-metrics) timeout -s INT $to lockscope record --metrics "$metrics" $st -o "$prof" -- sh "$wl" > "$out" 2>&1 ;;
    bpftrace) timeout -s INT $to bpftrace -c "/bin/sh $wl" /tmp/ovh.bt > "$out" 2>&1 ;;
    bt-floor) timeout -s INT $to bpftrace -c "/bin/sh $wl" /tmp/ovh-floor.bt > "$out" 2>&1 ;;
    klockstat) klockstat_run "$out" "$wl" ;;
    perf) perf_run "$out" "$wl" ;;
  esac
  echo "exit $?" >> "$out"
  [ "$ww" = pty ] && cat /tmp/bench.out >> "$out"
  echo "$rr $cc $ww $(( $(date +%s) - t0 ))" >> "$res/timing.txt"
  rows "$rr" "$cc" "$ww"
}

echo "conditions: $(conds_for)" >> "$res/params.txt"
r=1
while [ "$r" -le "$rounds" ]; do
  for w in $workloads; do
    for c in $(conds_for); do run "$r" "$c" "$w"; done
  done
  r=$((r + 1))
  if [ "$budget" -gt 0 ] && [ $(( $(date +%s) - start )) -gt "$budget" ] && [ "$r" -le "$rounds" ]; then
    note "rounds: stopped after $((r - 1)) of $rounds (budget ${budget} s)"
    break
  fi
done
for w in $workloads; do run "$r" none "$w"; done

# Per-program cost. The peers' programs are snapshotted by bpftool from
# inside the command; lockscope prints its own table with --stats.
echo 1 > /proc/sys/kernel/bpf_stats_enabled
for w in $workloads; do
  for c in $(conds_for) bt-floor; do
    case $c in
      none) continue ;;
      floor*|ls*) run s "$c" "$w" --stats ;;
      *) SNAP=$res/progs-$c-$w.txt; export SNAP; run s "$c" "$w"; unset SNAP ;;
    esac
  done
done
echo 0 > /proc/sys/kernel/bpf_stats_enabled

# The functions the peers' links attach to: BTF ids from `bpftool link show`,
# names from the kernel's BTF.
cat "$res"/progs-*.links "$res"/progs-*.fdinfo 2> /dev/null | \
  sed -n 's/.*target_btf_id[:[:space:]]*\([0-9]*\).*/\1/p' | sort -u > /tmp/ids
if [ -s /tmp/ids ]; then
  bpftool btf dump file /sys/kernel/btf/vmlinux format raw 2> /dev/null | \
    awk 'NR == FNR { want["[" $1 "]"] = 1; next } $2 == "FUNC" && ($1 in want) {
      n = $3; gsub("\047", "", n); id = $1; gsub("[][]", "", id); print id, n }' /tmp/ids - > "$res/btf-funcs.txt"
fi
say done
echo done
