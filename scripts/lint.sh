#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Style and static analysis of lockscope's C++ sources (src/, include/, tests/):
#   clang-format --dry-run --Werror   (.clang-format)
#   scripts/check-layers.sh            (no include runs up the library layering)
#   clang-tidy -p BUILD               (.clang-tidy; tests/ add their own
#                                      tests/.clang-tidy; needs
#                                      BUILD/compile_commands.json: any cmake
#                                      configure of lockscope writes it)
#   scripts/lint.sh                    both, report, exit 1 on any finding
#   scripts/lint.sh --format-only | --tidy-only
#   LOCKSCOPE_LINT_BUILD=DIR           build directory (default build/)
#   scripts/lint.sh --fix-format       rewrite files in place (clang-format -i)
# Exit: 0 clean, 1 findings, 4 clang-format/clang-tidy missing.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
build=${LOCKSCOPE_LINT_BUILD:-build}
do_format=1 do_tidy=1 fix=0
case "${1:-}" in
  --format-only) do_tidy=0 ;;
  --tidy-only) do_format=0 ;;
  --fix-format) do_tidy=0; fix=1 ;;
  "") ;;
  *) echo "lint.sh: unknown option $1" >&2; exit 2 ;;
esac
cf=$(command -v clang-format || command -v clang-format-14 || true)
ct=$(command -v clang-tidy || command -v clang-tidy-14 || true)
status=0

mapfile -t files < <(git ls-files 'src/*.cpp' 'src/*.hpp' 'include/*.hpp' 'tests/*.cpp' 'tests/*.hpp')

if [ "$do_format" = 1 ]; then
  if [ -z "$cf" ]; then echo "lint.sh: clang-format not found (apt install clang-format)" >&2; exit 4; fi
  if [ "$fix" = 1 ]; then
    "$cf" -i "${files[@]}"
    echo "format: rewrote ${#files[@]} files"; exit 0
  fi
  bad=()
  for f in "${files[@]}"; do
    "$cf" --dry-run --Werror "$f" >/dev/null 2>&1 || bad+=("$f")
  done
  if [ ${#bad[@]} -gt 0 ]; then
    status=1
    echo "format: ${#bad[@]} of ${#files[@]} files differ from .clang-format:"
    for f in "${bad[@]}"; do
      echo "  $f ($("$cf" --dry-run "$f" 2>&1 | grep -c 'warning:') lines)"
    done
    echo "  fix: scripts/lint.sh --fix-format"
  else
    echo "format: ${#files[@]} files clean"
  fi
  "$top/scripts/check-layers.sh" || status=1
fi

if [ "$do_tidy" = 1 ]; then
  if [ -z "$ct" ]; then echo "lint.sh: clang-tidy not found (apt install clang-tidy)" >&2; exit 4; fi
  if [ ! -f "$build/compile_commands.json" ]; then
    echo "lint.sh: $build/compile_commands.json missing (configure first: cmake -S . -B $build)" >&2
    exit 2
  fi
  mapfile -t srcs < <(git ls-files 'src/*.cpp' 'tests/*.cpp')
  log=$(mktemp)
  # Only the lines clang-tidy reports against our own files count.
  # One clang-tidy per file, as many at once as there are CPUs (at most 2 by
  # default: LOCKSCOPE_LINT_JOBS); each file takes tens of seconds.
  printf '%s\n' "${srcs[@]}" |
    xargs -P "${LOCKSCOPE_LINT_JOBS:-2}" -I{} "$ct" -p "$build" --quiet {} >"$log" 2>/dev/null
  findings=$(grep -E "^$top/(src|include|tests)/.*(warning|error):" "$log" | sort -u)
  n=$(printf '%s' "$findings" | grep -c . || true)
  if [ "$n" -gt 0 ]; then
    status=1
    echo "tidy: $n findings in ${#srcs[@]} files:"
    printf '%s\n' "$findings" | sed "s|^$top/||"
    echo "tidy: by check:"
    printf '%s\n' "$findings" | grep -o '\[[a-z0-9.,-]*\]$' | sort | uniq -c | sort -rn
  else
    echo "tidy: ${#srcs[@]} files clean"
  fi
  rm -f "$log"
fi
exit $status
