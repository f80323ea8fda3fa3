#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Builds the libFuzzer targets (tests/fuzz) with clang and
# -fsanitize=fuzzer,address,undefined and runs each for a bounded time.
#   scripts/fuzz.sh                    build, then run every target
#   scripts/fuzz.sh profile gate       build, then run these targets
#   scripts/fuzz.sh --build-only       build only
#   scripts/fuzz.sh --no-build TARGET  run only (the CTest "fuzz" tests do this)
# Environment:
#   LOCKSCOPE_FUZZ_SECONDS  time per target (default 20)
#   LOCKSCOPE_FUZZ_BUILD    build directory (default build-fuzz/)
# The seed corpus (tests/fuzz/corpus/<target>/) is only read; new inputs go to
# <build>/fuzz-corpus/<target>/, crashing inputs to <build>/fuzz-artifacts/.
# Exit: 0 no finding, 1 a finding (the input and the sanitizer report are
# printed), 77 clang or its libFuzzer runtime is missing (CTest: skipped).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${LOCKSCOPE_FUZZ_BUILD:-$top/build-fuzz}
seconds=${LOCKSCOPE_FUZZ_SECONDS:-20}
all_targets=(profile gate test_workqueue result_channel module_elf)

do_build=1 do_run=1 targets=()
for a in "$@"; do
  case "$a" in
    --build-only) do_run=0 ;;
    --no-build) do_build=0 ;;
    -h|--help) sed -n '3,16p' "$0"; exit 0 ;;
    -*) echo "fuzz.sh: unknown option $a" >&2; exit 2 ;;
    *) targets+=("$a") ;;
  esac
done
[ ${#targets[@]} -eq 0 ] && targets=("${all_targets[@]}")

cxx=$(command -v clang++ || command -v clang++-14 || true)
cc=$(command -v clang || command -v clang-14 || true)
if [ -z "$cxx" ] || [ -z "$cc" ]; then
  echo "fuzz.sh: SKIPPED: clang++ not found (install clang and libclang-rt-14-dev)" >&2
  exit 77
fi
if ! echo 'extern "C" int LLVMFuzzerTestOneInput(const char*, unsigned long) { return 0; }' |
     "$cxx" -x c++ -fsanitize=fuzzer,address,undefined - -o /dev/null 2>/dev/null; then
  echo "fuzz.sh: SKIPPED: $cxx cannot link -fsanitize=fuzzer (install libclang-rt-14-dev)" >&2
  exit 77
fi

if [ "$do_build" = 1 ]; then
  jobs=$(nproc 2>/dev/null || echo 2)
  [ "$jobs" -gt 2 ] && jobs=2
  # Libraries get coverage and sanitizer instrumentation without libFuzzer's
  # main (fuzzer-no-link); the targets themselves link -fsanitize=fuzzer.
  flags="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
  CC="$cc" CXX="$cxx" cmake -S "$top" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DLOCKSCOPE_FUZZ=ON -DLOCKSCOPE_BENCHMARKS=OFF -DCMAKE_CXX_FLAGS="$flags" >/dev/null
  cmake --build "$build" -j "$jobs" --target "${all_targets[@]/#/fuzz_}"
fi
[ "$do_run" = 1 ] || exit 0

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
status=0
for t in "${targets[@]}"; do
  bin="$build/tests/fuzz/fuzz_$t"
  seeds="$top/tests/fuzz/corpus/$t"
  if [ ! -x "$bin" ]; then
    echo "fuzz.sh: $bin is not built (run scripts/fuzz.sh --build-only)" >&2
    exit 2
  fi
  work="$build/fuzz-corpus/$t"
  art="$build/fuzz-artifacts"
  mkdir -p "$work" "$art"
  # module_elf: a real relocatable object to start from, compiled here (the
  # seed corpus holds no binaries).
  if [ "$t" = module_elf ]; then
    "$cc" -c -O1 "$top/tests/unit/data/module_fixture.c" -o "$work/module_fixture.o"
  fi
  log="$build/fuzz-$t.log"
  echo "== fuzz $t: ${seconds}s, seeds $(ls "$seeds" | wc -l)"
  # -max_len: inputs up to 64 KiB (long lines, deep nesting); -timeout: one
  # input taking > 10 s is a hang; -rss_limit_mb: a parser that balloons fails.
  if "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
       -print_final_stats=1 -artifact_prefix="$art/$t-" "$work" "$seeds" >"$log" 2>&1; then
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 || true)
    echo "fuzz $t: ok, ${runs:-?} executions in ${seconds}s, $cov, corpus $(ls "$work" | wc -l)"
  else
    status=1
    echo "fuzz $t: FINDING (log $log)" >&2
    grep -E 'ERROR|SUMMARY|runtime error|terminate|Test unit written|deadly' "$log" >&2 || tail -40 "$log" >&2
  fi
done
exit $status
