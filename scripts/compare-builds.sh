#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Two lockscope builds side by side in one QEMU boot (docs/overhead.md,
# "Comparing two builds"): interleaved rounds of the pty workload and of the
# kernel's test_workqueue under the floor (empty programs on the candidate's
# hooks), the baseline and the candidate, with kernel BPF stats. For a
# change to the BPF programs: what it does to their cost and to the holds,
# measured in the same boot, so that the drift of an emulated guest on a
# shared host falls on both alike.
#
#   scripts/compare-builds.sh [--rounds N] [--items N] [--threads N]
#                             [--pty-items N] [--pty-threads N] [--smp N]
#                             [--timeout S] BASELINE CANDIDATE [KERNEL_PATTERN]
#
#   BASELINE, CANDIDATE  lockscope binaries (a static build is self-contained:
#                        cmake -DLOCKSCOPE_STATIC=ON, as scripts/test.sh does)
#   --rounds       interleaved rounds (default 3)
#   --items        test_workqueue items per thread (default 1000)
#   --threads      test_workqueue producer threads (default: --smp)
#   --pty-items    pty items per thread (default 3000)
#   --pty-threads  pty producer threads (default: --smp)
#   --smp          guest vCPUs (default 4)
#   --timeout      seconds before the boot counts as hung (default 2400)
#   KERNEL_PATTERN default '7.2' (docs/vm.md, "Kernel selection")
#
# Needs what the VM tier needs (docs/vm.md) and python3. BUILD_DIR (default:
# build) holds lockscope-vm. Prints Markdown tables; the raw files stay in
# the boot folder named. Exit 3 when the guest hung or wrote nothing.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$top/build}
case $build in /*) ;; *) build=$top/$build ;; esac
rounds=3 items=1000 threads="" pitems=3000 pthreads="" smp=4 timeout=2400
while [ $# -gt 0 ]; do
  case $1 in
    --rounds) rounds=$2; shift 2 ;;
    --items) items=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --pty-items) pitems=$2; shift 2 ;;
    --pty-threads) pthreads=$2; shift 2 ;;
    --smp) smp=$2; shift 2 ;;
    --timeout) timeout=$2; shift 2 ;;
    -h|--help) sed -n '3,28p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "compare-builds.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    *) break ;;
  esac
done
if [ $# -lt 2 ] || [ $# -gt 3 ]; then
  echo "compare-builds.sh: usage: compare-builds.sh [options] BASELINE CANDIDATE [KERNEL_PATTERN] (see --help)" >&2
  exit 2
fi
baseline=$1 candidate=$2 kernel=${3:-7.2}
for b in "$baseline" "$candidate"; do
  [ -x "$b" ] || { echo "compare-builds.sh: $b is not an executable lockscope" >&2; exit 2; }
done
[ -n "$threads" ] || threads=$smp
[ -n "$pthreads" ] || pthreads=$smp
vmtool=$build/src/vm/lockscope-vm
[ -x "$vmtool" ] || { echo "compare-builds.sh: $vmtool not found (cmake --build $build --target lockscope-vm)" >&2; exit 4; }
command -v python3 > /dev/null || { echo "compare-builds.sh: python3 not found" >&2; exit 4; }

log=$(mktemp)
trap 'rm -f "$log"' EXIT
echo "compare-builds.sh: booting $kernel ($rounds rounds; pty $pitems items x $pthreads threads," \
  "twq $items items x $threads threads; $smp vCPUs)" >&2
status=0
"$vmtool" run "$kernel" --binary "$candidate" --module --smp "$smp" --mem 2048 --timeout "$timeout" \
  --file "$baseline:/bench/baseline" \
  --file "$top/tests/bench/overhead/builds_guest.sh:/bench/builds_guest.sh" \
  -- sh /bench/builds_guest.sh "$rounds" "$items" "$threads" "$pitems" "$pthreads" \
  2> "$log" || status=3
cat "$log" >&2
d=$(sed -n 's/^results in //p' "$log" | tail -1)
[ -n "$d" ] && [ -d "$d" ] || { echo "compare-builds.sh: the boot produced no results" >&2; exit 3; }
grep -i 'tcg\|kvm' "$log" | tail -1
echo "host: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) after the boot"
python3 "$top/tests/bench/overhead/summarize_builds.py" "$d"
echo
echo "raw files: $d"
exit $status
