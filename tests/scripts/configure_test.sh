#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The test command's configure step (scripts/configure.sh) must give a build
# folder the tests whatever configured it before. Here: a folder configured
# the way scripts/quickstart.sh used to leave build/ (LOCKSCOPE_TESTS=OFF) and
# with other options by hand; after the configure step, ctest must list tests,
# the options must be the test command's and the compile database (what
# clang-tidy reads) must name the test sources.
#   tests/scripts/configure_test.sh SOURCE_DIR
set -euo pipefail
top=$(cd "${1:?usage: configure_test.sh SOURCE_DIR}" && pwd)
dir=$(mktemp -d "${TMPDIR:-/tmp}/lockscope-configure-test.XXXXXX")
trap 'rm -rf "$dir"' EXIT
fail() { echo "configure_test: FAIL: $*" >&2; exit 1; }

cmake -S "$top" -B "$dir" -DLOCKSCOPE_TESTS=OFF -DLOCKSCOPE_BENCHMARKS=OFF \
  -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS=-O0 >/dev/null
n=$(ctest --test-dir "$dir" -N | sed -n 's/^Total Tests: *//p')
[ "${n:-0}" -eq 0 ] || fail "the folder configured with LOCKSCOPE_TESTS=OFF already lists $n tests"

"$top/scripts/configure.sh" "$dir"
n=$(ctest --test-dir "$dir" -N | sed -n 's/^Total Tests: *//p')
[ "${n:-0}" -gt 0 ] || fail "after scripts/configure.sh ctest lists no tests"
for want in LOCKSCOPE_TESTS:BOOL=ON LOCKSCOPE_BENCHMARKS:BOOL=ON \
            CMAKE_BUILD_TYPE:STRING=RelWithDebInfo CMAKE_CXX_FLAGS:STRING=; do
  grep -qx "$want" "$dir/CMakeCache.txt" ||
    fail "CMakeCache.txt has $(grep "^${want%%=*}=" "$dir/CMakeCache.txt" || echo "no ${want%%=*}"), not $want"
done
grep -q '/tests/unit/' "$dir/compile_commands.json" ||
  fail "compile_commands.json names no test sources (clang-tidy would not find their definitions)"
echo "configure_test: ok: $n tests listed after the configure step"
