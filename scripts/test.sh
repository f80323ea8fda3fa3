#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The whole test suite, from a fresh clone on a fresh machine, as root:
#   scripts/test.sh                (another user: sudo scripts/test.sh; not
#                                   root, the host and vm tiers are skipped)
# 1. installs the Debian packages lockscope needs (scripts/install-deps.sh);
# 2. builds a fully static lockscope for the QEMU guests (build-static/) and
#    lockscope with its tests (build/, every option explicit:
#    scripts/configure.sh, so whatever configured build/ before — e.g.
#    scripts/quickstart.sh — the tests are built and run);
# 3. checks the sources against .clang-format and .clang-tidy
#    (scripts/lint.sh; clang-tidy takes a few minutes);
# 4. runs every CTest tier: unit (pure logic), host (real BPF on this kernel,
#    root), vm (real pre-/post-patch Debian kernels under QEMU; kernels, the
#    module build chroot and modules are cached in ~/.cache/lockscope) and
#    fuzz (libFuzzer on every parser, 20 s each);
# 5. builds with -fsanitize=address,undefined (build-asan/) and runs the unit
#    and host tiers again (scripts/sanitize.sh).
# LOCKSCOPE_TEST_LABELS="unit|host" limits the tiers (a CTest label regex);
# LOCKSCOPE_TIDY=0 skips clang-tidy; LOCKSCOPE_SANITIZE_TIER=0 skips step 5;
# LOCKSCOPE_VM_KERNELS="7.2=pre-patch 7.3=post-patch 6.12" the kernels the vm
# tier's probe and per-kernel record tests boot (default: 7.2, 7.3, 6.12 and
# 6.1; docs/vm.md).
# Exit: 0 everything passed; 2 ctest found no tests (nothing was tested,
# never a pass); otherwise the status of the last step that failed.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
jobs=$(nproc 2>/dev/null || echo 2)

# Each step's wall time, printed as a table at the end (and on failure): the
# whole run has a time budget, and this says where it goes.
times=()
step_name=
step_start=$SECONDS
step() {
  [ -n "$step_name" ] && times+=("$(printf '%6d s  %s' $((SECONDS - step_start)) "$step_name")")
  step_name=$1
  step_start=$SECONDS
  [ -n "$1" ] && echo "== $1"
  return 0
}
print_times() {
  step ""
  echo "== time per step"
  printf '%s\n' "${times[@]}"
  printf '%6d s  total\n' "$SECONDS"
}
trap print_times EXIT

step "install: Debian packages (scripts/install-deps.sh)"
"$top/scripts/install-deps.sh"

if [ "$(id -u)" -ne 0 ]; then
  echo "test.sh: not root: the host and vm tiers will be skipped (run as root, or sudo $0)" >&2
fi

step "build: static lockscope for the VM guests (build-static/)"
cmake -S . -B build-static -DCMAKE_BUILD_TYPE=Release -DLOCKSCOPE_STATIC=ON \
      -DLOCKSCOPE_TESTS=OFF -DLOCKSCOPE_BENCHMARKS=OFF -DLOCKSCOPE_SANITIZE=OFF \
      -DCMAKE_C_FLAGS= -DCMAKE_CXX_FLAGS= >/dev/null
cmake --build build-static -j "$jobs" --target lockscope

step "build: lockscope and tests (build/)"
LOCKSCOPE_GUEST_BINARY="$top/build-static/src/lockscope" "$top/scripts/configure.sh" build
cmake --build build -j "$jobs"

# A build without tests (or a label regex that matches none) would make ctest
# say "No tests were found!!!" and exit 0: refuse that loudly.
labels=${LOCKSCOPE_TEST_LABELS:-}
label_args=()
[ -n "$labels" ] && label_args=(-L "$labels")
count=$(ctest --test-dir build -N "${label_args[@]}" | sed -n 's/^Total Tests: *//p')
if [ "${count:-0}" -eq 0 ]; then
  echo "test.sh: error: ctest finds no tests in build/${labels:+ with labels '$labels'}" >&2
  echo "hint: the labels are unit, host, vm and fuzz; build/CMakeCache.txt should say" \
       "LOCKSCOPE_TESTS:BOOL=ON (scripts/configure.sh sets it)" >&2
  exit 2
fi

status=0
if [ "${LOCKSCOPE_TIDY:-1}" != 0 ]; then
  step "lint (.clang-format, .clang-tidy)"
  LOCKSCOPE_LINT_BUILD=build LOCKSCOPE_LINT_JOBS="$jobs" "$top/scripts/lint.sh" || status=$?
else
  step "format (.clang-format)"
  "$top/scripts/lint.sh" --format-only || status=$?
fi

step "test ($count tests${labels:+, labels '$labels'})"
ctest --test-dir build --output-on-failure --no-tests=error "${label_args[@]}" || status=$?

if [ "${LOCKSCOPE_SANITIZE_TIER:-1}" != 0 ]; then
  step "sanitizers (build-asan/)"
  "$top/scripts/sanitize.sh" || status=$?
fi
exit $status
