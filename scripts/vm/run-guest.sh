#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Boot a Debian cloud kernel under QEMU with lockscope inside and run a command.
#
#   scripts/vm/run-guest.sh [options] KERNEL_PATTERN -- COMMAND...
#
#   KERNEL_PATTERN  a Debian cloud kernel version, prefix or glob: '7.2'
#                   (pre-patch), '7.3' (post-patch), '6.1', '6.12.*+deb12',
#                   '7.2.9+deb13', ... (newest match wins; docs/vm.md)
#   options         passed to lockscope-vm: --module (test_workqueue.ko at
#                   /lib/modules/test_workqueue.ko), --file HOST:GUEST, --smp N,
#                   --mem MiB, --timeout S, --accel auto|kvm|tcg,
#                   --append PARAM (kernel command line, e.g. lockdown=integrity), -vv
#
# Environment: BUILD_DIR (default: build) holds the built lockscope-vm and
# lockscope; LOCKSCOPE_GUEST_BINARY picks another lockscope for the guest
# (e.g. a -DLOCKSCOPE_STATIC=ON build); LOCKSCOPE_CACHE moves the cache.
#
# The guest's stdout+stderr is printed; files the command writes to $RESULTS
# come back into the boot folder printed at the end. Exit code: the guest's
# (3 when it hung, panicked or reported nothing).
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${BUILD_DIR:-$top/build}
case $build in /*) ;; *) build=$top/$build ;; esac
vmtool=$build/src/vm/lockscope-vm
guest=${LOCKSCOPE_GUEST_BINARY:-$build/src/lockscope}
if [ ! -x "$vmtool" ] || [ ! -x "$guest" ]; then
  echo "run-guest.sh: building lockscope and lockscope-vm in $build" >&2
  [ -f "$build/CMakeCache.txt" ] || "$top/scripts/configure.sh" "$build" >&2
  make -C "$build" -j2 lockscope lockscope-vm >&2
fi
if [ $# -lt 3 ]; then
  sed -n '3,21p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
fi
# Everything before the pattern (options) and the pattern itself go first;
# lockscope-vm takes "run PATTERN [options] -- COMMAND".
opts=""
pattern=""
while [ $# -gt 0 ] && [ "$1" != "--" ]; do
  case $1 in
    --file|--smp|--mem|--timeout|--accel|--append) opts="$opts $1 $2"; shift 2 ;;
    -*) opts="$opts $1"; shift ;;
    *) pattern=$1; shift ;;
  esac
done
[ -n "$pattern" ] || { echo "run-guest.sh: missing KERNEL_PATTERN" >&2; exit 2; }
# shellcheck disable=SC2086
exec "$vmtool" run "$pattern" --binary "$guest" $opts "$@"
