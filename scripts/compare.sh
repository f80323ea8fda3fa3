#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Side-by-side recordings in one QEMU boot, interleaved round by round, so
# that the drift of an emulated guest on a shared host falls on every
# condition alike (docs/overhead.md, "Comparing in one boot"):
#
#   scripts/compare.sh builds [options] BASELINE CANDIDATE [KERNEL_PATTERN]
#       the floor (empty programs on the candidate's hooks), the baseline
#       and the candidate lockscope, on the pty workload and test_workqueue:
#       what a change to the BPF programs does to their cost and the holds
#   scripts/compare.sh modes [options] [KERNEL_PATTERN]
#       one lockscope under --no-sites, the default mode and --stacks, on
#       the pty workload: whether the hold percentiles agree across the
#       recording modes (lockscope times itself out of the holds), against
#       the spread of one mode with itself
#
#   BASELINE, CANDIDATE  lockscope binaries (a static build is self-contained:
#                        cmake -DLOCKSCOPE_STATIC=ON, as scripts/test.sh does)
#   --binary       modes: the lockscope to run (default: the static build,
#                  build-static/src/lockscope)
#   --rounds       interleaved rounds (default 3 for builds, 6 for modes)
#   --workloads    pty, twq or pty,twq (default pty,twq for builds, pty for modes)
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
# the boot folder named. Exit 2 on bad arguments, 3 when the guest hung or
# wrote nothing, 4 when a tool is missing.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$top/build}
case $build in /*) ;; *) build=$top/$build ;; esac
usage() { echo "compare.sh: $1 (see --help)" >&2; exit 2; }
help() { sed -n '3,34p' "$0" | sed 's/^# \{0,1\}//'; exit 0; }
case ${1:-} in
  builds|modes) what=$1; shift ;;
  -h|--help) help ;;
  *) usage "usage: compare.sh builds|modes [options] ..." ;;
esac
binary=$top/build-static/src/lockscope
rounds="" workloads="" items=1000 threads="" pitems=3000 pthreads="" smp=4 timeout=2400
while [ $# -gt 0 ]; do
  case $1 in
    --binary|--rounds|--workloads|--items|--threads|--pty-items|--pty-threads|--smp|--timeout)
      [ $# -ge 2 ] || usage "$1 needs a value" ;;
  esac
  case $1 in
    --binary) binary=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --workloads) workloads=$2; shift 2 ;;
    --items) items=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --pty-items) pitems=$2; shift 2 ;;
    --pty-threads) pthreads=$2; shift 2 ;;
    --smp) smp=$2; shift 2 ;;
    --timeout) timeout=$2; shift 2 ;;
    -h|--help) help ;;
    -*) usage "unknown option $1" ;;
    *) break ;;
  esac
done
for v in "$items" "$pitems" "$smp" "$timeout" ${rounds:+"$rounds"} ${threads:+"$threads"} ${pthreads:+"$pthreads"}; do
  case $v in ''|*[!0-9]*|0) usage "'$v' is not a positive number" ;; esac
done
case ${workloads:-pty} in pty|twq|pty,twq|twq,pty) ;; *) usage "--workloads takes pty, twq or pty,twq" ;; esac
if [ "$what" = builds ]; then
  { [ $# -ge 2 ] && [ $# -le 3 ]; } || usage "usage: compare.sh builds [options] BASELINE CANDIDATE [KERNEL_PATTERN]"
  baseline=$1 binary=$2 kernel=${3:-7.2}
  [ -x "$baseline" ] || usage "$baseline is not an executable lockscope"
  : "${rounds:=3}" "${workloads:=pty,twq}"
  set -- floor:lockscope:--floor baseline:/bench/baseline candidate:lockscope
  files="--file $baseline:/bench/baseline"
  summary=summarize_builds.py
else
  [ $# -le 1 ] || usage "usage: compare.sh modes [options] [KERNEL_PATTERN]"
  kernel=${1:-7.2}
  : "${rounds:=6}" "${workloads:=pty}"
  set -- nosites:lockscope:--no-sites default:lockscope stacks:lockscope:--stacks
  files=""
  summary=summarize_modes.py
fi
[ -x "$binary" ] || usage "$binary is not an executable lockscope"
[ -n "$threads" ] || threads=$smp
[ -n "$pthreads" ] || pthreads=$smp
vmtool=$build/src/vm/lockscope-vm
[ -x "$vmtool" ] || { echo "compare.sh: $vmtool not found (cmake --build $build --target lockscope-vm)" >&2; exit 4; }
command -v python3 > /dev/null || { echo "compare.sh: python3 not found" >&2; exit 4; }

module=""
case $workloads in *twq*) module=--module ;; esac
log=$(mktemp)
trap 'rm -f "$log"' EXIT
echo "compare.sh: $what, booting $kernel ($rounds rounds of $workloads; pty $pitems items x $pthreads threads," \
  "twq $items items x $threads threads; $smp vCPUs)" >&2
status=0
# shellcheck disable=SC2086
"$vmtool" run "$kernel" --binary "$binary" $module --smp "$smp" --mem 2048 --timeout "$timeout" \
  $files --file "$top/tests/bench/overhead/rounds_guest.sh:/bench/rounds_guest.sh" \
  -- sh /bench/rounds_guest.sh "$rounds" "$workloads" "$items" "$threads" "$pitems" "$pthreads" "$@" \
  2> "$log" || status=3
cat "$log" >&2
d=$(sed -n 's/^results in //p' "$log" | tail -1)
[ -n "$d" ] && [ -d "$d" ] || { echo "compare.sh: the boot produced no results" >&2; exit 3; }
grep -i 'tcg\|kvm' "$log" | tail -1
echo "host: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) after the boot"
python3 "$top/tests/bench/overhead/$summary" "$d"
echo
echo "raw files: $d"
exit $status
