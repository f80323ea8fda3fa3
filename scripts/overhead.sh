#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The overhead benchmark (docs/overhead.md): what `lockscope record` costs,
# next to the floor (empty programs on the same hooks, `record --floor`) and
# to its peers (a bpftrace script, BCC's klockstat, perf lock contention), on
# the pty workload and the kernel's test_workqueue, one QEMU boot per kernel.
#
#   scripts/overhead.sh [--rounds N] [--items N] [--threads N] [--pty-items N]
#                       [--pty-threads N] [--workloads LIST] [--smp N]
#                       [--timeout S] [KERNEL_PATTERN...]
#
#   --rounds       interleaved rounds of all conditions per boot (default 3)
#   --items        test_workqueue items per thread and run (default 1000)
#   --threads      test_workqueue producer threads (default: --smp)
#   --pty-items    pty workload items per thread and run (default 20000)
#   --pty-threads  pty workload producer threads (default: --smp)
#   --workloads    "pty twq" (default), "pty" or "twq"
#   --smp          guest vCPUs (default 4)
#   --timeout      seconds per boot before it counts as hung (default 3000); no
#                  new round starts after 55% of it (the stats pass follows)
#   KERNEL_PATTERN default: '7.2' '7.3' (one boot each; docs/vm.md)
#
# Needs what the VM tier needs (docs/vm.md) plus bpftrace, bpftool and python3
# on the host, and klockstat (libbpf-tools) and perf (linux-perf) for those
# peers: each is copied into the guest with the libraries ldd lists.
# BUILD_DIR (default: build) holds lockscope and lockscope-vm (built if missing);
# LOCKSCOPE_GUEST_BINARY picks another lockscope for the guest.
# Prints Markdown tables; the raw result files stay in the boot folders named.
# Exit code 3 when a guest hung or no boot produced results.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$top/build}
case $build in /*) ;; *) build=$top/$build ;; esac
rounds=3 items=1000 threads="" pitems=20000 pthreads="" workloads="pty twq" smp=4 timeout=3000
while [ $# -gt 0 ]; do
  case $1 in
    --rounds) rounds=$2; shift 2 ;;
    --items) items=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --pty-items) pitems=$2; shift 2 ;;
    --pty-threads) pthreads=$2; shift 2 ;;
    --workloads) workloads=$2; shift 2 ;;
    --smp) smp=$2; shift 2 ;;
    --timeout) timeout=$2; shift 2 ;;
    -h|--help) sed -n '3,29p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "overhead.sh: unknown option $1" >&2; exit 2 ;;
    *) break ;;
  esac
done
[ -n "$threads" ] || threads=$smp
[ -n "$pthreads" ] || pthreads=$smp
[ $# -gt 0 ] || set -- '7.2' '7.3'

for tool in bpftrace bpftool python3; do
  command -v "$tool" > /dev/null || { echo "overhead.sh: $tool not found (install it: bpftrace, bpftool, python3)" >&2; exit 4; }
done
peers="bpftrace bpftool"
for tool in klockstat perf; do
  if command -v "$tool" > /dev/null; then
    peers="$peers $tool"
  else
    echo "overhead.sh: $tool not found (scripts/install-deps.sh installs it); its rows say so" >&2
  fi
done
vmtool=$build/src/vm/lockscope-vm
guest=${LOCKSCOPE_GUEST_BINARY:-$build/src/lockscope}
if [ ! -x "$vmtool" ] || [ ! -x "$guest" ]; then
  [ -f "$build/CMakeCache.txt" ] || "$top/scripts/configure.sh" "$build" >&2
  make -C "$build" -j2 lockscope lockscope-vm >&2
fi

# A dynamic executable and its libraries, copied into the guest at the same paths.
paths_for() {
  bin=$(readlink -f "$(command -v "$1")")
  echo "$bin"
  ldd "$bin" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }'
}
# The guest's PATH has /bin, /sbin, /usr/bin and /usr/sbin: a tool found
# elsewhere on the host is also copied to /usr/bin.
extra=$(for t in $peers; do
  paths_for "$t"
  case $(command -v "$t") in /bin/*|/sbin/*|/usr/bin/*|/usr/sbin/*) ;; *) echo "$(readlink -f "$(command -v "$t")") /usr/bin/$t" ;; esac
done | sort -u | awk 'NF == 1 { print "--file " $1 ":" $1 } NF == 2 { print "--file " $1 ":" $2 }' | tr '\n' ' ')

dirs=""
status=0
for k in "$@"; do
  log=$(mktemp)
  echo "overhead.sh: booting $k ($rounds rounds of $workloads; twq $items items x $threads threads," \
    "pty $pitems items x $pthreads threads; $smp vCPUs)" >&2
  load0=$(cat /proc/loadavg)
  # shellcheck disable=SC2086
  if "$vmtool" run "$k" --binary "$guest" --module --smp "$smp" --mem 2048 --timeout "$timeout" \
      --file "$top/tests/bench/overhead/guest.sh:/bench/guest.sh" \
      --file "$top/tests/bench/overhead.bt:/bench/overhead.bt" $extra \
      -- sh /bench/guest.sh "$rounds" "$items" "$threads" "$pitems" "$pthreads" "'$workloads'" $((timeout * 55 / 100)) \
      2> "$log"; then :; else status=3; fi
  cat "$log" >&2
  d=$(sed -n 's/^results in //p' "$log" | tail -1)
  if [ -n "$d" ] && [ -d "$d" ]; then
    # The host side of the figures: load average before and after, the boot line.
    { echo "before $load0"; echo "after $(cat /proc/loadavg)"; echo "cores $(nproc)"; } > "$d/result-hostload.txt"
    grep -i 'tcg\|kvm' "$log" | tail -1 > "$d/result-boot.txt"
    dirs="$dirs $d"
  fi
  rm -f "$log"
done
[ -n "$dirs" ] || { echo "overhead.sh: no boot produced results" >&2; exit 3; }
# shellcheck disable=SC2086
python3 "$top/tests/bench/overhead/summarize.py" $dirs
exit $status
