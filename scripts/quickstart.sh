#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# lockscope's main job on this host, from a fresh clone, as root:
#   scripts/quickstart.sh          (another user: sudo scripts/quickstart.sh)
# installs what is missing, builds lockscope (build/, configured exactly as
# scripts/test.sh configures it: scripts/configure.sh), shows what this kernel
# offers (`lockscope probe`), records the workqueue locks while the pty
# round-trip workload runs on two affinity scopes, and prints the report.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
if [ "$(id -u)" -ne 0 ]; then
  echo "quickstart.sh: error: needs root (it installs packages and loads BPF programs)" >&2
  echo "hint: run it as root, or: sudo scripts/quickstart.sh" >&2
  exit 4
fi
"$top/scripts/install-deps.sh"
"$top/scripts/configure.sh" build
cmake --build build -j "$(nproc 2>/dev/null || echo 2)" --target lockscope
ls=$top/build/src/lockscope

echo "== lockscope probe"
"$ls" probe
echo "== lockscope record (pty workload, scopes cache and system, 2 runs each)"
"$ls" record --workload pty --scope cache,system --runs 2 --items 5000 -o lockscope.json
echo "== lockscope report lockscope.json"
"$ls" report lockscope.json
