#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Builds lockscope and its unit and host tests with
# -fsanitize=address,undefined (LOCKSCOPE_SANITIZE=ON) in build-asan/ and runs
# them: `ctest -L 'unit|host'`. Any AddressSanitizer, LeakSanitizer or
# UndefinedBehaviorSanitizer report fails the test that produced it.
#   scripts/sanitize.sh                 build and run both tiers
#   LOCKSCOPE_SANITIZE_LABELS=unit scripts/sanitize.sh   one tier only
#   LOCKSCOPE_SANITIZE_BUILD=DIR        build directory (default build-asan/)
# Host tests need root (they load BPF programs); without it they are skipped.
# Leak reports from inside libbpf/libelf are suppressed by
# tests/sanitizer/lsan.supp (see docs/reliability.md); none are needed today.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${LOCKSCOPE_SANITIZE_BUILD:-$top/build-asan}
labels=${LOCKSCOPE_SANITIZE_LABELS:-unit|host}
jobs=$(nproc 2>/dev/null || echo 2)
[ "$jobs" -gt 2 ] && jobs=2

echo "== sanitize: build (${build#$top/}, -fsanitize=address,undefined)"
cmake -S "$top" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLOCKSCOPE_SANITIZE=ON \
  -DLOCKSCOPE_BENCHMARKS=OFF \
  -DCMAKE_CXX_FLAGS="-fno-sanitize-recover=undefined" >/dev/null
build_start=$SECONDS
cmake --build "$build" -j "$jobs"
echo "== sanitize: built in $((SECONDS - build_start)) s"

# halt_on_error: a UBSan report ends the test process, so the test fails.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:detect_stack_use_after_return=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$top/tests/sanitizer/lsan.supp:print_suppressions=0}
echo "== sanitize: ctest -L '$labels'"
ctest --test-dir "$build" --output-on-failure -L "$labels"
