#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Inside the guest of scripts/compare.sh (builds and modes):
# ROUNDS interleaved rounds; each records every WORKLOAD under every
# CONDITION with kernel BPF stats (--stats). Round r starts with the r-th
# condition and wraps around, so no condition always runs first after a
# workload change. Files: $RESULTS/NAME-WORKLOADr.txt (what record printed)
# and $RESULTS/NAME-WORKLOADr.json (the profile; none for a floor).
#   rounds_guest.sh ROUNDS WORKLOADS ITEMS THREADS PTY_ITEMS PTY_THREADS CONDITION...
#   WORKLOADS  pty, twq or pty,twq (test_workqueue from /lib/modules)
#   CONDITION  NAME:BINARY[:FLAG...], e.g. floor:lockscope:--floor,
#              baseline:/bench/baseline, stacks:lockscope:--stacks
set -u
rounds=$1 workloads=$2 items=$3 threads=$4 pitems=$5 pthreads=$6
shift 6
n=$#
mkdir -p /dev/pts
mount -t devpts devpts /dev/pts 2> /dev/null
pty="bench --workload pty --scope system --runs 1 --threads $pthreads --items $pitems"
twq="bench --workload test_workqueue=/lib/modules/test_workqueue.ko --runs 1 --threads $threads --items $items"
r=1
while [ "$r" -le "$rounds" ]; do
  for w in $(echo "$workloads" | tr ',' ' '); do
    if [ "$w" = pty ]; then load=$pty; else load=$twq; fi
    i=0
    while [ $i -lt "$n" ]; do
      # The ((r - 1 + i) mod n)-th condition, counting from 1.
      k=$(( (r - 1 + i) % n + 1 ))
      eval "c=\${$k}"
      name=${c%%:*}
      rest=${c#*:}
      bin=${rest%%:*}
      flags=""
      [ "$rest" != "$bin" ] && flags=$(echo "${rest#*:}" | tr ':' ' ')
      out="-o $RESULTS/$name-$w$r.json"
      case " $flags " in *" --floor "*) out="" ;; esac
      echo "round $r, $w, $name" >&2
      # shellcheck disable=SC2086
      $bin record --stats $flags $out -- $bin $load > "$RESULTS/$name-$w$r.txt" 2>&1
      i=$((i + 1))
    done
  done
  r=$((r + 1))
done
