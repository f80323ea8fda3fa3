#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The overhead benchmark (docs/overhead.md): what `lockscope record` costs the
# kernel's test_workqueue benchmark, next to an equivalent bpftrace script,
# on the pre-patch (7.2.*) and post-patch (7.3.*) kernels under QEMU.
#
#   scripts/overhead.sh [--rounds N] [--items N] [--threads N] [--smp N] [KERNEL_PATTERN...]
#
#   --rounds   interleaved rounds of (none, lockscope, bpftrace) per boot (default 3)
#   --items    test_workqueue items per thread and run (default 2000)
#   --threads  test_workqueue producer threads (default: --smp)
#   --smp      guest vCPUs (default 4)
#   KERNEL_PATTERN  default: '7.2' '7.3' (one boot each; docs/vm.md)
#
# Needs what the VM tier needs (docs/vm.md) plus bpftrace and bpftool on the
# host: both are copied into the guest with the libraries ldd lists.
# BUILD_DIR (default: build) holds lockscope and lockscope-vm (built if missing);
# LOCKSCOPE_GUEST_BINARY picks another lockscope for the guest.
# Prints Markdown tables; the raw result files stay in the boot folders named.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$top/build}
case $build in /*) ;; *) build=$top/$build ;; esac
rounds=3 items=2000 threads="" smp=4
while [ $# -gt 0 ]; do
  case $1 in
    --rounds) rounds=$2; shift 2 ;;
    --items) items=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --smp) smp=$2; shift 2 ;;
    -h|--help) sed -n '3,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "overhead.sh: unknown option $1" >&2; exit 2 ;;
    *) break ;;
  esac
done
[ -n "$threads" ] || threads=$smp
[ $# -gt 0 ] || set -- '7.2' '7.3'

for tool in bpftrace bpftool python3; do
  command -v "$tool" > /dev/null || { echo "overhead.sh: $tool not found (install it: bpftrace, bpftool, python3)" >&2; exit 4; }
done
vmtool=$build/src/vm/lockscope-vm
guest=${LOCKSCOPE_GUEST_BINARY:-$build/src/lockscope}
if [ ! -x "$vmtool" ] || [ ! -x "$guest" ]; then
  [ -f "$build/CMakeCache.txt" ] || "$top/scripts/configure.sh" "$build" >&2
  make -C "$build" -j2 lockscope lockscope-vm >&2
fi

# A dynamic executable and its libraries, copied into the guest at the same paths.
paths_for() {
  bin=$(command -v "$1")
  echo "$bin"
  ldd "$bin" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }'
}
extra=$({ paths_for bpftrace; paths_for bpftool; } | sort -u | sed 's/.*/--file &:&/' | tr '\n' ' ')

dirs=""
status=0
for k in "$@"; do
  log=$(mktemp)
  echo "overhead.sh: booting $k ($rounds rounds, $items items x $threads threads, $smp vCPUs)" >&2
  # shellcheck disable=SC2086
  if "$vmtool" run "$k" --binary "$guest" --module --smp "$smp" --mem 2048 --timeout 3000 \
      --file "$top/tests/bench/overhead/guest.sh:/bench/guest.sh" \
      --file "$top/tests/bench/overhead.bt:/bench/overhead.bt" $extra \
      -- sh /bench/guest.sh "$rounds" "$items" "$threads" 2> "$log"; then :; else status=3; fi
  cat "$log" >&2
  d=$(sed -n 's/^results in //p' "$log" | tail -1)
  rm -f "$log"
  [ -n "$d" ] && dirs="$dirs $d"
done
[ -n "$dirs" ] || { echo "overhead.sh: no boot produced results" >&2; exit 3; }
# shellcheck disable=SC2086
python3 "$top/tests/bench/overhead/summarize.py" $dirs
exit $status
