#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Configures a build folder the way the README's two commands build lockscope.
# Every option lockscope's CMake files read is given explicitly, so the result
# is the same whatever configured the folder before (the other command, a
# hand-made `cmake -B build -DLOCKSCOPE_TESTS=OFF`, a sanitizer or static
# build): CMake keeps cached options across runs, and a test command that
# reused a cache without the tests would build no tests and run none.
#   scripts/configure.sh [BUILD_DIR]     default: build/ (relative to the checkout)
# Environment:
#   LOCKSCOPE_GUEST_BINARY  the lockscope copied into the VM guests (scripts/test.sh
#                           sets it to the static build); unset: left as it is
# Options set: CMAKE_BUILD_TYPE=RelWithDebInfo, LOCKSCOPE_TESTS=ON,
# LOCKSCOPE_BENCHMARKS=ON, LOCKSCOPE_STATIC=OFF, LOCKSCOPE_SANITIZE=OFF,
# LOCKSCOPE_FUZZ=OFF, empty CMAKE_C_FLAGS/CMAKE_CXX_FLAGS.
# Exit: 0 configured; 2 BUILD_DIR belongs to another checkout; else cmake's.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-build}
case $build in /*) ;; *) build=$top/$build ;; esac

cache=$build/CMakeCache.txt
if [ -f "$cache" ]; then
  home=$(sed -n 's/^CMAKE_HOME_DIRECTORY:INTERNAL=//p' "$cache")
  if [ -n "$home" ] && [ "$(cd "$home" 2>/dev/null && pwd -P)" != "$(cd "$top" && pwd -P)" ]; then
    echo "configure.sh: error: ${build#"$top"/}/ was configured for another checkout ($home)" >&2
    echo "hint: remove it (rm -rf '$build') and run the command again" >&2
    exit 2
  fi
fi

opts=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DLOCKSCOPE_TESTS=ON -DLOCKSCOPE_BENCHMARKS=ON
      -DLOCKSCOPE_STATIC=OFF -DLOCKSCOPE_SANITIZE=OFF -DLOCKSCOPE_FUZZ=OFF
      -DCMAKE_C_FLAGS= -DCMAKE_CXX_FLAGS=)
[ -n "${LOCKSCOPE_GUEST_BINARY+set}" ] && opts+=("-DLOCKSCOPE_GUEST_BINARY=$LOCKSCOPE_GUEST_BINARY")
echo "== configure ${build#"$top"/}/ (RelWithDebInfo, tests on)"
cmake -S "$top" -B "$build" "${opts[@]}" >/dev/null
