#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The alert and recording rules of docs/prometheus/: `promtool check rules`
# (syntax, PromQL) and `promtool test rules` (each alert fires for the host
# that should trip it, not for the others). Exit 77 (CTest: skipped) with
# the reason when promtool is missing.
set -uo pipefail
top=${1:?usage: prometheus_rules_test.sh SOURCE_DIR}
promtool=$(command -v promtool || true)
if [ -z "$promtool" ]; then
  echo "skipped: promtool missing (Debian package prometheus: scripts/install-deps.sh)"
  exit 77
fi
cd "$top/docs/prometheus" || exit 2
"$promtool" check rules lockscope.rules.yml || exit 1
"$promtool" test rules lockscope.rules.test.yml || exit 1
