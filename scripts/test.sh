#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The whole test suite, from a fresh clone on a fresh machine:
#   sudo scripts/test.sh
# 1. installs the Debian packages lockscope needs (scripts/install-deps.sh);
# 2. builds lockscope and its tests (build/), and a fully static lockscope for
#    the QEMU guests (build-static/);
# 3. checks the sources against .clang-format and .clang-tidy
#    (scripts/lint.sh; clang-tidy takes a few minutes);
# 4. runs every CTest tier: unit (pure logic), host (real BPF on this kernel,
#    root), vm (real pre-/post-patch Debian kernels under QEMU; kernels, the
#    module build chroot and modules are cached in ~/.cache/lockscope) and
#    fuzz (libFuzzer on every parser, 20 s each);
# 5. builds with -fsanitize=address,undefined (build-asan/) and runs the unit
#    and host tiers again (scripts/sanitize.sh).
# LOCKSCOPE_TEST_LABELS="unit|host" limits the tiers (a CTest label regex);
# LOCKSCOPE_TIDY=0 skips clang-tidy; LOCKSCOPE_SANITIZE_TIER=0 skips step 5.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
jobs=$(nproc 2>/dev/null || echo 2)

"$top/scripts/install-deps.sh"

echo "== build: static lockscope for the VM guests (build-static/)"
cmake -S . -B build-static -DCMAKE_BUILD_TYPE=Release -DLOCKSCOPE_STATIC=ON \
      -DLOCKSCOPE_TESTS=OFF -DLOCKSCOPE_BENCHMARKS=OFF >/dev/null
cmake --build build-static -j "$jobs" --target lockscope

echo "== build: lockscope and tests (build/)"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DLOCKSCOPE_GUEST_BINARY="$top/build-static/src/lockscope" >/dev/null
cmake --build build -j "$jobs"

status=0
if [ "${LOCKSCOPE_TIDY:-1}" != 0 ]; then
  echo "== lint (.clang-format, .clang-tidy)"
  LOCKSCOPE_LINT_BUILD=build LOCKSCOPE_LINT_JOBS="$jobs" "$top/scripts/lint.sh" || status=$?
else
  echo "== format (.clang-format)"
  "$top/scripts/lint.sh" --format-only || status=$?
fi

echo "== test"
labels=${LOCKSCOPE_TEST_LABELS:-}
if [ -n "$labels" ]; then
  ctest --test-dir build --output-on-failure -L "$labels" || status=$?
else
  ctest --test-dir build --output-on-failure || status=$?
fi

if [ "${LOCKSCOPE_SANITIZE_TIER:-1}" != 0 ]; then
  echo "== sanitizers (build-asan/)"
  "$top/scripts/sanitize.sh" || status=$?
fi
exit $status
