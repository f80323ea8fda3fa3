#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The layering of lockscope's libraries, checked: a library (src/LIB/ and
# include/lockscope/LIB/) includes only its own headers and those of the
# libraries below it. One line per library, bottom up; src/cli and
# src/main.cpp may include everything. Exit 1 and one line per offending
# include otherwise.
set -uo pipefail
cd "$(dirname "$0")/.."

declare -A below=(
  [core]=""
  [stats]="core"
  [probe]="core"
  [workloads]="stats core"
  [output]="stats core"
  [record]="probe core"
  [diff]="output stats core"
  [vm]="workloads stats core"
  [ab]="vm diff workloads output stats core"
  [serve]="record probe core"
)
# The BPF <-> C++ contract: histograms (core) and the map readers (record).
shared_ok="core record"

status=0
checked=0
for lib in "${!below[@]}"; do
  allowed=" $lib ${below[$lib]} "
  while IFS= read -r file; do
    checked=$((checked + 1))
    while IFS= read -r line; do
      inc=${line#*\"lockscope/}
      inc=${inc%%\"*}
      if [ "$inc" = bpf_shared.h ]; then
        [[ " $shared_ok " == *" $lib "* ]] && continue
        echo "layers: $file includes lockscope/bpf_shared.h (only: $shared_ok)"
        status=1
        continue
      fi
      dep=${inc%%/*}
      if [[ "$allowed" != *" $dep "* ]]; then
        echo "layers: $file ($lib) includes lockscope/$inc: $dep is not below $lib"
        status=1
      fi
    done < <(grep -E '^\s*#\s*include\s+"lockscope/' "$file")
  done < <(git ls-files "src/$lib/*" "include/lockscope/$lib/*" | grep -E '\.(cpp|hpp|h|in)$')
done
[ $status = 0 ] && echo "layers: $checked files, no include runs up the layering"
exit $status
